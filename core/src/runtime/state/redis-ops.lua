-- Switchyard's state operations, run inside Redis: each one atomic, a sequence of them too.
-- The reference implementations are the TypeScript ones named alike (state.ts `defineOp`, in
-- policies/breaker.ts, policies/cooldown.ts, policies/latency.ts, cost/budget.ts,
-- routing/shared.ts); core/test/runtime/state-contract.test.ts holds both to the same results.
--
-- Operations come in sequences (see the batch at the end): a result with stop = true ends its
-- sequence (the gate: cooldown, breaker, budget). Each sequence answers the results of the
-- operations that ran.
-- Time is never Redis's: every operation gets the router's clock in its args (`now`). Records are
-- JSON; an empty list comes back as {} (cjson has one empty table), which the callers accept.

local null = cjson.null

local function load(key)
  local raw = redis.call('GET', key)
  if raw then return cjson.decode(raw) end
  return nil
end

local function save(key, record, ttl_ms)
  if ttl_ms ~= nil and ttl_ms ~= null then
    redis.call('SET', key, cjson.encode(record), 'PX', math.max(1, math.floor(ttl_ms)))
  else
    redis.call('SET', key, cjson.encode(record))
  end
end

local ops = {}

-- Cooldowns (policies/cooldown.ts) ---------------------------------------------------------------

ops['cooldown.check'] = function(key, a)
  local c = load(key)
  if c and c['until'] > a.now and c['until'] > a.ignoreUntil then
    return { stop = true, ['until'] = c['until'], reason = c.reason }
  end
  return { stop = false }
end

ops['cooldown.start'] = function(key, a)
  local c = load(key)
  if not (c and c['until'] >= a['until']) then
    c = { ['until'] = a['until'], reason = a.reason }
    save(key, c)
  end
  return { ['until'] = c['until'], reason = c.reason }
end

-- Circuit breakers (policies/breaker.ts) -----------------------------------------------------------

local function move(id, r, to, at, transitions)
  transitions[#transitions + 1] = { deployment = id, from = r.state, to = to, at = at }
  r.state = to
  r.consecutiveFailures = 0
  r.buckets = {}
  r.probeSince = null
end

local function promote(id, r, now, transitions)
  if r.state ~= 'open' or now < r.openUntil then return end
  move(id, r, 'half-open', r.openUntil, transitions)
end

local function trip(id, r, now, open_ms, transitions)
  move(id, r, 'open', now, transitions)
  r.openUntil = now + open_ms
end

local function count(r, outcome, now, a)
  if outcome == 'success' then r.consecutiveFailures = 0 else r.consecutiveFailures = r.consecutiveFailures + 1 end
  if a.mode ~= 'rate' then return end
  local epoch = math.floor(now / a.bucketMs)
  local kept, bucket = {}, nil
  for _, b in ipairs(r.buckets) do
    if b.epoch > epoch - a.bucketCount then
      kept[#kept + 1] = b
      if b.epoch == epoch then bucket = b end
    end
  end
  if not bucket then
    bucket = { epoch = epoch, successes = 0, failures = 0, slow = 0 }
    kept[#kept + 1] = bucket
  end
  r.buckets = kept
  if outcome == 'failure' then bucket.failures = bucket.failures + 1
  elseif outcome == 'slow' then bucket.slow = bucket.slow + 1
  else bucket.successes = bucket.successes + 1 end
end

local function should_trip(r, now, a)
  if a.mode == 'consecutive' then return r.consecutiveFailures >= a.consecutiveFailures end
  local oldest = math.floor(now / a.bucketMs) - a.bucketCount
  local failures, slow, total = 0, 0, 0
  for _, b in ipairs(r.buckets) do
    if b.epoch > oldest then
      failures = failures + b.failures
      slow = slow + (b.slow or 0)
      total = total + b.successes + b.failures + (b.slow or 0)
    end
  end
  if total < a.minimumRequests then return false end
  return (failures > 0 and failures / total >= a.failureRate) or (slow > 0 and slow / total >= a.slowCallRate)
end

local function fresh_breaker()
  return { state = 'closed', openUntil = 0, consecutiveFailures = 0, buckets = {}, probeSince = null }
end

ops['breaker.acquire'] = function(key, a)
  local transitions = {}
  local r = load(key)
  local function allowed(probe)
    return { allowed = true, probe = probe, retryInMs = 0, stop = false, transitions = transitions }
  end
  if not r or r.state == 'closed' then return allowed(false) end
  promote(a.id, r, a.now, transitions)
  local result
  if r.state == 'closed' then
    result = allowed(false)
  elseif r.state == 'open' then
    result = { allowed = false, probe = false, retryInMs = r.openUntil - a.now, stop = true, transitions = transitions }
  elseif r.probeSince == null or a.now - r.probeSince >= a.probeLeaseMs then
    r.probeSince = a.now
    result = allowed(true)
  else
    result = {
      allowed = false, probe = false, retryInMs = r.probeSince + a.probeLeaseMs - a.now, stop = true,
      transitions = transitions,
    }
  end
  save(key, r)
  return result
end

ops['breaker.record'] = function(key, a)
  local transitions = {}
  local r = load(key)
  if a.outcome == 'success' and a.mode == 'consecutive'
    and (not r or (r.state == 'closed' and r.consecutiveFailures == 0)) then
    return { transitions = transitions }
  end
  r = r or fresh_breaker()
  promote(a.id, r, a.now, transitions)
  if r.state == 'half-open' then
    if a.wasProbe then
      if a.outcome == 'success' then move(a.id, r, 'closed', a.now, transitions)
      else trip(a.id, r, a.now, a.openMs, transitions) end
    end
  elseif r.state == 'closed' then
    count(r, a.outcome, a.now, a)
    if should_trip(r, a.now, a) then trip(a.id, r, a.now, a.openMs, transitions) end
  end
  save(key, r)
  return { transitions = transitions }
end

ops['breaker.release'] = function(key, a)
  local transitions = {}
  local r = load(key)
  if not r then return { transitions = transitions } end
  promote(a.id, r, a.now, transitions)
  if r.state == 'half-open' then r.probeSince = null end
  save(key, r)
  return { transitions = transitions }
end

ops['breaker.state'] = function(key, a)
  local transitions = {}
  local r = load(key)
  if not r then return { state = 'closed', transitions = transitions } end
  promote(a.id, r, a.now, transitions)
  if #transitions > 0 then save(key, r) end
  return { state = r.state, transitions = transitions }
end

-- The budget ledger (cost/budget.ts) ------------------------------------------------------------

local function normalise(ledger, a)
  ledger = ledger or { entries = {}, held = {} }
  for group, lost in pairs(ledger.held) do
    if tonumber(group) <= a.expiredBefore then
      for _, budget in ipairs(lost.budgets) do
        local entry = ledger.entries[budget]
        if entry then
          entry.reserved = entry.reserved - lost.units
          entry.spent = entry.spent + lost.units
        end
      end
      ledger.held[group] = nil
    end
  end
  for _, b in ipairs(a.budgets) do
    local entry = ledger.entries[b.id]
    if not entry then
      ledger.entries[b.id] = { period = b.period, spent = 0, reserved = 0 }
    elseif entry.period ~= b.period then
      ledger.entries[b.id] = { period = b.period, spent = 0, reserved = entry.reserved }
    end
  end
  return ledger
end

-- Group numbers are object keys: written as integers, never as '1.5e+06'.
local function group_key(n) return string.format('%d', n) end

ops['budget.reserve'] = function(key, a)
  local ledger = normalise(load(key), a)
  local over = {}
  for _, b in ipairs(a.budgets) do
    local e = ledger.entries[b.id]
    if e.spent + e.reserved + a.units > b.limit then
      over[#over + 1] = { id = b.id, limit = b.limit, period = e.period, spent = e.spent, reserved = e.reserved }
    end
  end
  if #over > 0 then
    save(key, ledger, a.ttlMs)
    return { stop = true, over = over }
  end
  local ids = {}
  for _, b in ipairs(a.budgets) do
    ledger.entries[b.id].reserved = ledger.entries[b.id].reserved + a.units
    ids[#ids + 1] = b.id
  end
  local g = group_key(a.heldIn)
  local group = ledger.held[g]
  if group then group.units = group.units + a.units else ledger.held[g] = { units = a.units, budgets = ids } end
  save(key, ledger, a.ttlMs)
  return { stop = false, over = {} }
end

ops['budget.close'] = function(key, a)
  local ledger = normalise(load(key), a)
  local g = group_key(a.heldIn)
  local group = ledger.held[g]
  if group then
    local released = math.min(a.units, group.units)
    group.units = group.units - released
    if group.units == 0 then ledger.held[g] = nil end
    for _, id in ipairs(a.held) do
      local entry = ledger.entries[id]
      if entry then
        entry.reserved = entry.reserved - released
        entry.spent = entry.spent + a.spent
      end
    end
  end
  save(key, ledger, a.ttlMs)
  return null
end

ops['budget.read'] = function(key, a)
  return normalise(load(key), a).entries
end

-- Latency statistics (policies/latency.ts) -----------------------------------------------------------

ops['latency.record'] = function(key, a)
  local r = load(key)
  if not (r and a.now - r.lastSampleAt < a.maxAgeMs) then
    save(key, {
      samples = 1, ewmaLatencyMs = a.latencyMs, ewmaTtftMs = a.ttftMs, recent = { a.latencyMs }, next = 0,
      lastSampleAt = a.now,
    }, a.maxAgeMs)
    return null
  end
  if #r.recent < a.windowSize then
    r.recent[#r.recent + 1] = a.latencyMs
  else
    r.recent[r.next + 1] = a.latencyMs
    r.next = (r.next + 1) % a.windowSize
  end
  r.samples = r.samples + 1
  r.ewmaLatencyMs = a.alpha * a.latencyMs + (1 - a.alpha) * r.ewmaLatencyMs
  if a.ttftMs ~= null then
    if r.ewmaTtftMs == null then r.ewmaTtftMs = a.ttftMs
    else r.ewmaTtftMs = a.alpha * a.ttftMs + (1 - a.alpha) * r.ewmaTtftMs end
  end
  r.lastSampleAt = a.now
  save(key, r, a.maxAgeMs)
  return null
end

ops['latency.read'] = function(key)
  return load(key) or null
end

-- Routing (routing/shared.ts) ------------------------------------------------------------------

ops['counter.next'] = function(key)
  local value = load(key) or 0
  save(key, value + 1)
  return value
end

ops['set.add'] = function(key, a)
  local members = load(key) or {}
  for _, m in ipairs(members) do
    if m == a.member then return null end
  end
  members[#members + 1] = a.member
  table.sort(members)
  save(key, members)
  return null
end

ops['set.read'] = function(key)
  return load(key) or {}
end

-- The batch -------------------------------------------------------------------------------------
-- ARGV[1] holds the sequences made in one turn of the caller's event loop (one round trip for all):
-- a list of sequences, each a list of [name, args]; KEYS follow in the same order, flattened.

local batch = cjson.decode(ARGV[1])
local answers = {}
local k = 0
for s, sequence in ipairs(batch) do
  local results = {}
  local stopped = false
  for i, entry in ipairs(sequence) do
    k = k + 1
    if not stopped then
      local op = ops[entry[1]]
      if not op then return redis.error_reply('switchyard: unknown state operation ' .. tostring(entry[1])) end
      local result = op(KEYS[k], entry[2])
      results[i] = result
      if type(result) == 'table' and result.stop == true then stopped = true end
    end
  end
  answers[s] = results
end
return cjson.encode(answers)
