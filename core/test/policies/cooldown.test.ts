import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/runtime/clock.ts';
import { Cooldowns } from '../../src/runtime/policies/cooldown.ts';
import { MemoryStore } from '../../src/runtime/state.ts';

function setup() {
  const clock = new VirtualClock();
  const store = new MemoryStore(clock);
  return { clock, store, cooldowns: new Cooldowns(store, clock) };
}

describe('Cooldowns', () => {
  it('keeps a deployment cooling until the time asked, then lets it go', async () => {
    const { clock, cooldowns } = setup();
    const started = clock.now();
    await cooldowns.start('a', 2_000, 'retry-after');
    expect(await cooldowns.active('a')).toEqual({ until: started + 2_000, reason: 'retry-after' });
    expect(await cooldowns.active('b')).toBeUndefined();
    await clock.advance(1_999);
    expect(await cooldowns.active('a')).toBeDefined();
    await clock.advance(1);
    expect(await cooldowns.active('a')).toBeUndefined();
  });

  it('never shortens a longer cooldown already running, and lengthens a shorter one', async () => {
    const { clock, cooldowns } = setup();
    const started = clock.now();
    await cooldowns.start('a', 600_000, 'quota');
    await cooldowns.start('a', 2_000, 'retry-after');
    expect(await cooldowns.active('a')).toEqual({ until: started + 600_000, reason: 'quota' });
    await cooldowns.start('b', 2_000, 'retry-after');
    await cooldowns.start('b', 5_000, 'retry-after');
    expect((await cooldowns.active('b'))?.until).toBe(started + 5_000);
  });

  it('is shared through the store: another router replica sees it', async () => {
    const { clock, store, cooldowns } = setup();
    await cooldowns.start('a', 2_000, 'retry-after');
    expect(await new Cooldowns(store, clock).active('a')).toBeDefined();
  });
});
