/**
 * Extension-host integration tests. The same module runs under @vscode/test-electron (desktop VS Code,
 * when one is available) and inside code-server (VS Code's own build, through the `payload` query
 * parameter): VS Code calls run() in the extension host with the fixture workspace open.
 *
 * A tiny runner (no mocha): tests run in order, each failure prints its stack, and run() rejects if
 * any failed, which VS Code turns into a non-zero exit code.
 */
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startChaosProxy, ZERO_LATENCY } from '@switchyard/core/faults';
import * as vscode from 'vscode';
import type { SwitchyardApi } from '../../src/extension.ts';
import { formatUsd, timelineText } from '../../src/shared/format.ts';
import type { RunState } from '../../src/shared/protocol.ts';

const EXTENSION_ID = 'switchyard.switchyard-vscode';
type Test = { name: string; fn: () => Promise<void> };
const tests: Test[] = [];
const test = (name: string, fn: () => Promise<void>) => tests.push({ name, fn });

function workspaceRoot(): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the fixture workspace is open');
  return folder.uri;
}

async function api(): Promise<SwitchyardApi> {
  const ext = vscode.extensions.getExtension<SwitchyardApi>(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is installed`);
  return ext.isActive ? ext.exports : await ext.activate();
}

async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  ms = 20_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('activates and contributes its commands', async () => {
  await api();
  const commands = await vscode.commands.getCommands(true);
  for (const id of [
    'switchyard.compare',
    'switchyard.setApiKey',
    'switchyard.clearApiKey',
    'switchyard.openLatestReport',
    'switchyard.showLog',
  ])
    assert.ok(commands.includes(id), `${id} is registered`);
});

test('CodeLens above each prompt of a prompt file', async () => {
  const uri = vscode.Uri.joinPath(workspaceRoot(), 'prompts', 'rivers.prompt.md');
  await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
  const lenses = await until('code lenses', async () => {
    const found = await vscode.commands.executeCommand<vscode.CodeLens[]>(
      'vscode.executeCodeLensProvider',
      uri,
    );
    return found && found.length >= 2 ? found : undefined;
  });
  const titles = lenses.map((l) => l.command?.title);
  assert.deepEqual(titles, ['▶ Compare on 3 models', '▶ Compare on 3 models']);
  const headings = readFileSync(uri.fsPath, 'utf8')
    .split(/\r?\n/)
    .flatMap((line, i) => (line.startsWith('## ') ? [i] : []));
  assert.deepEqual(
    lenses.map((l) => l.range.start.line),
    headings,
  );
});

test('compares a prompt file on three models (one per provider) against the simulator', async () => {
  const { lenses } = await api();
  const uri = vscode.Uri.joinPath(workspaceRoot(), 'prompts', 'rivers.prompt.md');
  const run = await vscode.commands.executeCommand<RunState>('switchyard.compare', {
    uri: uri.toString(),
    promptIndex: 0,
  });
  assert.ok(run, 'the command resolves with the run');
  assert.deepEqual(
    run.columns.map((c) => [c.spec.id, c.spec.provider, c.spec.simulated, c.status]),
    [
      ['openai/gpt-4.1', 'openai', true, 'done'],
      ['anthropic/claude-sonnet-4-6', 'anthropic', true, 'done'],
      ['ollama/llama3.2', 'ollama', true, 'done'],
    ],
  );
  for (const c of run.columns) {
    assert.ok(c.text.length > 0, `${c.spec.id} answered`);
    assert.ok((c.latencyMs ?? 0) > 0 && (c.ttftMs ?? 0) > 0, `${c.spec.id} has latency and TTFT`);
    assert.ok((c.outputTokens ?? 0) > 0 && (c.inputTokens ?? 0) > 0, `${c.spec.id} has token counts`);
    assert.equal(c.servedBy, c.spec.id);
    assert.equal(c.attempts.length, 1);
  }
  assert.ok(
    (run.columns[0]!.costUsd ?? 0) > 0 && (run.columns[1]!.costUsd ?? 0) > 0,
    'cloud models cost money',
  );
  assert.equal(run.columns[2]!.costUsd, 0, 'the local model is free');
  assert.equal(run.prompt.system, 'You answer in one short paragraph.');
  assert.match(
    lenses.lastHint(uri.toString(), 0) ?? '',
    /^gpt-4\.1 ✓ .* · claude-sonnet-4-6 ✓ .* · llama3\.2 ✓ .* \$0$/,
  );
});

test('a column whose provider fails shows its own error; with the fallback toggle on, who answered instead', async () => {
  const { compare } = await api();
  const chaos = { fault: 'service_unavailable', provider: 'openai', rate: 1 };
  const own = await vscode.commands.executeCommand<RunState>('switchyard.compare', {
    text: 'Summarise TCP in one line.',
    chaos,
  });
  assert.equal(own.fallback, false, 'each model answers for itself by default');
  assert.equal(own.columns[0]!.status, 'failed');
  assert.equal(own.columns[0]!.text, '');
  assert.deepEqual(
    { ...own.columns[0]!.error, message: undefined },
    { deployment: 'openai/gpt-4.1', kind: 'overloaded', status: 503, message: undefined },
  );
  compare.setFallback(true);
  try {
    const run = await vscode.commands.executeCommand<RunState>('switchyard.compare', {
      text: 'Summarise TCP in one line.',
      chaos,
    });
    assert.equal(run.fallback, true);
    const openai = run.columns[0]!;
    assert.equal(openai.status, 'done');
    assert.equal(openai.servedBy, 'anthropic/claude-sonnet-4-6');
    assert.equal(openai.servedSimulated, true);
    assert.equal(openai.error?.status, 503, 'its own error is kept');
    assert.deepEqual(
      openai.attempts.map((a) => [a.deployment, a.outcome, a.status]),
      [
        ['openai/gpt-4.1', 'error', 503],
        ['openai/gpt-4.1', 'error', 503],
        ['anthropic/claude-sonnet-4-6', 'success', undefined],
      ],
    );
    assert.match(
      timelineText(openai.attempts),
      /^openai\/gpt-4\.1 ✗ 503 service unavailable → ↻ openai\/gpt-4\.1 after .+ ✗ 503 service unavailable → anthropic\/claude-sonnet-4-6 ✓ /,
    );
    assert.equal(run.columns[1]!.servedBy, 'anthropic/claude-sonnet-4-6');
  } finally {
    compare.setFallback(false);
  }
});

test('exports the run as Markdown with metrics and paths', async () => {
  const doc = await vscode.commands.executeCommand<vscode.TextDocument>(
    'switchyard.exportCompare',
    'markdown',
  );
  const text = doc.getText();
  assert.match(
    text,
    /\| Model \| Mode \| Status \| Served by \| Latency \| TTFT \| Tokens in\/out \| Cost \| Finish \| Marks \|/,
  );
  assert.match(text, /- \*\*openai\/gpt-4\.1\*\*: openai\/gpt-4\.1 ✗ 503 service unavailable/);
  assert.match(text, /\| \*\*Total\*\* \|/);
  await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
});

test('the session spend adds up every column', async () => {
  const { compare } = await api();
  assert.ok(compare.sessionSpend.simulatedUsd > 0);
  assert.equal(compare.sessionSpend.liveUsd, 0);
  assert.match(formatUsd(compare.sessionSpend.simulatedUsd), /^\$0\.\d+$/);
});

test('"New Prompt File" creates a real prompt file: CodeLens at once, the cursor on its first prompt', async () => {
  const { lenses } = await api();
  const uri = await vscode.commands.executeCommand<vscode.Uri>(
    'switchyard.newPromptFile',
    'prompts/it.switchyard.md',
  );
  assert.equal(uri.scheme, 'file');
  assert.ok(existsSync(uri.fsPath), 'the file is on disk');
  const editor = vscode.window.activeTextEditor;
  assert.equal(editor?.document.uri.toString(), uri.toString());
  const found = await until('its code lenses', async () => {
    const l = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri);
    return l && l.length >= 2 ? l : undefined;
  });
  assert.deepEqual(
    found.map((l) => l.command?.title),
    ['▶ Compare on 3 models', '▶ Compare on 3 models'],
  );
  // Compare inside it runs the prompt under the cursor, no input box.
  const run = await vscode.commands.executeCommand<RunState>('switchyard.compare', { reveal: false });
  assert.equal(run?.prompt.title, 'Circuit breakers');
  assert.equal(run?.prompt.source?.uri, uri.toString());
  assert.ok(lenses.lastHint(uri.toString(), 0));
  await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  rmSync(uri.fsPath, { force: true });
});

test('the cursor on an empty prompt heading compares nothing (and says so) instead of another prompt', async () => {
  const { compare } = await api();
  const uri = vscode.Uri.joinPath(workspaceRoot(), 'prompts', 'edge.switchyard.md');
  const editor = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
  const before = compare.state.current?.runId;
  const empty = editor.document.getText().split(/\r?\n/).indexOf('## Empty');
  assert.ok(empty > 0, 'the fixture has an empty heading');
  editor.selection = new vscode.Selection(empty, 0, empty, 0);
  const run = await vscode.commands.executeCommand<RunState | undefined>('switchyard.compare', {
    reveal: false,
  });
  assert.equal(run, undefined);
  assert.equal(compare.state.current?.runId, before, 'no run started');
  await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
});

test('unknown models and a mistyped fault are flagged at their value, with quick fixes, and the lens counts what runs', async () => {
  const uri = vscode.Uri.joinPath(workspaceRoot(), 'prompts', 'edge.switchyard.md');
  const document = await vscode.workspace.openTextDocument(uri);
  await vscode.window.showTextDocument(document);
  const flagged = await until('the three checks', () => {
    const found = vscode.languages.getDiagnostics(uri).filter((d) => d.code !== undefined);
    return found.length === 3 ? found : undefined;
  });
  const byCode = (code: string) => flagged.find((d) => d.code === code)!;
  assert.equal(document.getText(byCode('unknown-model').range), 'gpt-4.1');
  assert.equal(byCode('unknown-model').severity, vscode.DiagnosticSeverity.Error);
  assert.equal(document.getText(byCode('model-not-in-catalogue').range), 'anthropic/claude-sonet-4-6');
  assert.equal(document.getText(byCode('unknown-fault').range), 'rate_limt');
  assert.match(byCode('unknown-fault').message, /did you mean rate_limit\?$/);
  const fixes = async (d: vscode.Diagnostic) =>
    (
      (await vscode.commands.executeCommand<vscode.CodeAction[]>(
        'vscode.executeCodeActionProvider',
        uri,
        d.range,
        vscode.CodeActionKind.QuickFix.value,
      )) ?? []
    ).map((a) => a.title);
  assert.ok((await fixes(byCode('unknown-model'))).includes('Replace with "openai/gpt-4.1"'));
  assert.ok((await fixes(byCode('unknown-fault'))).includes('Replace with "rate_limit"'));
  const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>(
    'vscode.executeCodeLensProvider',
    uri,
  );
  assert.equal(lenses[0]?.command?.title, '▶ Compare on 2 models (1 unknown left out: see Problems)');
  await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
});

test('a mistyped fault in a scenario file: "did you mean" on the value, and a quick fix', async () => {
  const source = readFileSync(join(workspaceRoot().fsPath, 'scenarios', 'openai-outage.yaml'), 'utf8');
  const file = join(workspaceRoot().fsPath, 'scenarios', 'typo.yaml');
  writeFileSync(
    file,
    source
      .replace('name: openai-outage', 'name: typo')
      .replace('fault: service_unavailable', 'fault: servce_unavailable'),
  );
  try {
    const uri = vscode.Uri.file(file);
    const document = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(document);
    const diagnostic = await until('the fault diagnostic', () =>
      vscode.languages.getDiagnostics(uri).find((d) => d.code === 'unknown-fault'),
    );
    assert.equal(document.getText(diagnostic.range), 'servce_unavailable');
    assert.equal(
      diagnostic.message,
      'faults[0].fault: unknown fault "servce_unavailable" — did you mean service_unavailable?',
    );
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>(
      'vscode.executeCodeActionProvider',
      uri,
      diagnostic.range,
      vscode.CodeActionKind.QuickFix.value,
    );
    const fix = actions.find((a) => a.title === 'Replace with "service_unavailable"');
    assert.ok(fix?.edit, 'the quick fix is offered');
    await vscode.workspace.applyEdit(fix.edit);
    await until('the fix clears the diagnostic', () =>
      vscode.languages.getDiagnostics(uri).some((d) => d.code === 'unknown-fault') ? undefined : true,
    );
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  } finally {
    rmSync(file, { force: true });
  }
});

test('per-column parameters are kept with the comparison: in reruns, in the saved file, and when it is opened again', async () => {
  const { compare } = await api();
  const run = await vscode.commands.executeCommand<RunState>('switchyard.compare', {
    text: 'Name a river.',
    title: 'River',
    reveal: false,
  });
  compare.setParams('anthropic/claude-sonnet-4-6', {
    maxOutputTokens: 5,
    temperature: 0.9,
    system: 'Answer in French.',
  });
  const column = await compare.rerun('anthropic/claude-sonnet-4-6');
  const anthropic = column?.columns.find((c) => c.spec.id === 'anthropic/claude-sonnet-4-6');
  assert.equal(column?.runId, run.runId, 'a column rerun stays in its run');
  assert.deepEqual(anthropic?.spec.params, {
    system: 'Answer in French.',
    temperature: 0.9,
    maxOutputTokens: 5,
  });
  assert.ok((anthropic?.outputTokens ?? 99) <= 5, `at most 5 tokens (${anthropic?.outputTokens})`);
  assert.equal(anthropic?.finishReason, 'length');
  const again = await compare.rerun();
  assert.notEqual(again?.runId, run.runId);
  assert.deepEqual(again?.columns[1]?.spec.params, {
    system: 'Answer in French.',
    temperature: 0.9,
    maxOutputTokens: 5,
  });
  compare.label(again!.runId, 'french');
  const target = vscode.Uri.joinPath(workspaceRoot(), 'comparisons', 'it.comparison.json');
  const saved = await compare.save(target);
  assert.equal(saved?.toString(), target.toString());
  const reopened = await compare.open(target);
  assert.equal(reopened?.label, 'french');
  assert.deepEqual(
    reopened?.columns.map((c) => [c.spec.id, c.spec.params, c.text]),
    again?.columns.map((c) => [c.spec.id, c.spec.params, c.text]),
  );
  assert.ok(
    compare.state.history.some((h) => h.label === 'french'),
    'the history finds it by label',
  );
  // A broken file is refused with a located error, and nothing is lost from the panel.
  writeFileSync(
    target.fsPath,
    readFileSync(target.fsPath, 'utf8').replace('"fallback": false', '"fallback": "no"'),
  );
  const current = compare.state.current?.runId;
  assert.equal(await compare.open(target), undefined);
  assert.equal(compare.state.current?.runId, current);
  rmSync(target.fsPath, { force: true });
});

test('the model picker lists the simulator’s catalogue when no key is set', async () => {
  const { catalogue } = await api();
  const loaded = await catalogue.refresh();
  assert.deepEqual(loaded.notes, []);
  const ids = loaded.entries.map((e) => e.id);
  for (const id of ['openai/gpt-4o-mini', 'anthropic/claude-opus-4-6', 'ollama/qwen2.5:7b'])
    assert.ok(ids.includes(id), id);
  assert.ok(loaded.entries.every((e) => e.source === 'simulator'));
});

test('scenario files are test items with one child per hypothesis at its line', async () => {
  const { scenarios } = await api();
  await scenarios.discover();
  const uri = vscode.Uri.joinPath(workspaceRoot(), 'scenarios', 'openai-outage.yaml');
  const item = await until('the scenario item', () => scenarios.controller.items.get(uri.toString()));
  assert.equal(item.label, 'openai-outage');
  const children: vscode.TestItem[] = [];
  item.children.forEach((c) => {
    children.push(c);
  });
  assert.deepEqual(
    children.map((c) => [c.label, c.range?.start.line]),
    [
      ['#1 success_rate', 32],
      ['#2 fallback_path (during)', 34],
      ['deliberately-failing — latency', 37],
    ],
  );
});

test('running a scenario: passed, failed with expected vs actual at its line, report written', async () => {
  const { scenarios, reports } = await api();
  const uri = vscode.Uri.joinPath(workspaceRoot(), 'scenarios', 'openai-outage.yaml');
  const item = scenarios.controller.items.get(uri.toString())!;
  const source = new vscode.CancellationTokenSource();
  await scenarios.run(new vscode.TestRunRequest([item]), source.token, 'simulated');
  const [record] = scenarios.lastRun;
  assert.ok(record, 'a run record');
  const outcome = (i: number) => record.outcomes[`${uri.toString()}#${i}`];
  assert.equal(outcome(0)?.outcome, 'passed');
  assert.equal(outcome(1)?.outcome, 'passed');
  assert.equal(outcome(2)?.outcome, 'failed');
  assert.equal(outcome(2)?.expected, '≤ 50 ms');
  assert.match(outcome(2)?.actual ?? '', /^\d+ ms over 40 requests$/);
  assert.equal(record.outcomes[uri.toString()]?.outcome, 'failed');
  assert.ok(record.report && existsSync(record.report), 'the HTML report exists');
  assert.match(readFileSync(record.report, 'utf8'), /openai-outage/);
  await until('the report panel', () => (reports.path === record.report ? true : undefined));
  assert.equal(scenarios.latestReport, record.report);
});

test("the Live providers profile runs against the config's own providers with the keys in SecretStorage", async () => {
  const { scenarios } = await api();
  // No real provider is reachable here: a chaos proxy on loopback plays one, and accepts only the stored key.
  const key = 'sk-test-live-integration-key';
  const provider = await startChaosProxy({
    mode: 'simulate',
    seed: 3,
    simulator: { latency: { '*': ZERO_LATENCY }, acceptKey: (_p, k) => k === key },
  });
  const file = join(workspaceRoot().fsPath, 'scenarios', 'live-check.yaml');
  writeFileSync(
    file,
    [
      'name: live-check',
      'description: A live run reaches the configured provider with the stored key, faults injected on the way.',
      'seed: 4',
      'router:',
      '  deployments:',
      `    - { id: openai/gpt-4.1, provider: openai, model: gpt-4.1, baseURL: "${provider.url}/v1", apiKey: { env: OPENAI_API_KEY } }`,
      '  routes: [{ name: chat, deployments: [openai/gpt-4.1] }]',
      '  policies: { retry: { maxAttempts: 2, baseDelayMs: 10 } }',
      // One caller: every 503 (each second call) is followed by the retry that succeeds, whatever the timing.
      'load: { requests: 6, concurrency: 1, maxOutputTokens: 16 }',
      'faults: [{ id: every-second-503, fault: service_unavailable, target: { provider: openai }, everyNth: 2 }]',
      'hypotheses:',
      '  - { type: success_rate, atLeast: 1 }',
      '',
    ].join('\n'),
  );
  try {
    await vscode.commands.executeCommand('switchyard.setApiKey', 'openai', key);
    const uri = vscode.Uri.file(file);
    const item = await until('the live scenario is discovered', () =>
      scenarios.controller.items.get(uri.toString()),
    );
    await scenarios.run(
      new vscode.TestRunRequest([item]),
      new vscode.CancellationTokenSource().token,
      'live',
    );
    const record = scenarios.lastRun[0]!;
    assert.equal(record.profile, 'live');
    assert.equal(record.journal?.mode, 'real-time');
    assert.equal(record.journal?.verdict, 'passed', JSON.stringify(record.outcomes));
    assert.ok(
      (record.journal?.faultCounters.injected['every-second-503'] ?? 0) > 0 ||
        record.journal!.faultCounters.requestsSeen > 0,
    );
    // The calls crossed the socket to the "provider", which accepted them only with the stored key.
    assert.ok(provider.chaos.counters().requests.total >= 6, 'the provider saw the requests');
  } finally {
    await vscode.commands.executeCommand('switchyard.clearApiKey', 'openai');
    rmSync(file, { force: true });
    await provider.close();
  }
});

test('an invalid scenario gets diagnostics at the loader’s line and column', async () => {
  const file = join(workspaceRoot().fsPath, 'scenarios', 'broken.yaml');
  writeFileSync(
    file,
    'name: broken\nseed: 1\nrouter: { path: ./nowhere.yaml }\nload: { requests: 5, rate: 1 }\nfaults: []\nhypotheses:\n  - type: success_rate\n    atLeast: 2\n',
  );
  try {
    const uri = vscode.Uri.file(file);
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
    const diagnostics = await until('diagnostics', () => {
      const found = vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'switchyard');
      return found.length > 0 ? found : undefined;
    });
    const atLeast = diagnostics.find((d) => /hypotheses\[0\]\.atLeast/.test(d.message));
    assert.ok(
      atLeast,
      `a diagnostic names hypotheses[0].atLeast: ${diagnostics.map((d) => d.message).join(' | ')}`,
    );
    assert.equal(atLeast.range.start.line, 7);
    assert.equal(atLeast.range.start.character, 13);
    const missing = diagnostics.find((d) => /description/.test(d.message));
    assert.ok(missing, 'the missing description is reported too');
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  } finally {
    rmSync(file, { force: true });
  }
});

test('API keys go to SecretStorage, never to settings', async () => {
  const { hasKey } = await api();
  await vscode.commands.executeCommand('switchyard.setApiKey', 'openai', 'sk-test-fake-key-for-integration');
  assert.equal(await hasKey('openai'), true);
  const settings = JSON.stringify(vscode.workspace.getConfiguration('switchyard'));
  assert.ok(!settings.includes('sk-test-fake-key'), 'the key is not in the settings');
  await vscode.commands.executeCommand('switchyard.clearApiKey', 'openai');
  assert.equal(await hasKey('openai'), false);
});

export async function run(): Promise<void> {
  let failed = 0;
  const started = Date.now();
  console.log(`switchyard integration: ${tests.length} tests in ${vscode.env.appName} ${vscode.version}`);
  for (const t of tests) {
    const t0 = Date.now();
    try {
      await t.fn();
      console.log(`  ✓ ${t.name} (${Date.now() - t0} ms)`);
    } catch (error) {
      failed++;
      console.error(
        `  ✗ ${t.name}\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
    }
  }
  const summary = `switchyard integration: ${tests.length - failed} passed, ${failed} failed (${Date.now() - started} ms)`;
  console.log(summary);
  const out = process.env.SWITCHYARD_TEST_RESULT;
  if (out)
    writeFileSync(out, `${JSON.stringify({ passed: tests.length - failed, failed, total: tests.length })}\n`);
  if (failed > 0) throw new Error(summary);
}
