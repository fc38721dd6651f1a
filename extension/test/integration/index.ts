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
  const run = await vscode.commands.executeCommand<import('../../src/shared/protocol.ts').RunState>(
    'switchyard.compare',
    { uri: uri.toString(), promptIndex: 0 },
  );
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

test('a column whose provider is made to fail shows its fallback path', async () => {
  const run = await vscode.commands.executeCommand<import('../../src/shared/protocol.ts').RunState>(
    'switchyard.compare',
    {
      text: 'Summarise TCP in one line.',
      chaos: { fault: 'service_unavailable', provider: 'openai', rate: 1 },
    },
  );
  const openai = run.columns[0]!;
  assert.equal(openai.status, 'done');
  assert.equal(openai.servedBy, 'anthropic/claude-sonnet-4-6');
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
    /^openai\/gpt-4\.1 ✗ 503, waited .+ → ✗ 503 → anthropic\/claude-sonnet-4-6 ✓ /,
  );
  assert.equal(run.columns[1]!.servedBy, 'anthropic/claude-sonnet-4-6');
});

test('exports the run as Markdown with metrics and paths', async () => {
  const doc = await vscode.commands.executeCommand<vscode.TextDocument>(
    'switchyard.exportCompare',
    'markdown',
  );
  const text = doc.getText();
  assert.match(
    text,
    /\| Model \| Status \| Served by \| Latency \| TTFT \| Tokens in\/out \| Cost \| Finish \| Marks \|/,
  );
  assert.match(text, /- \*\*openai\/gpt-4\.1\*\*: openai\/gpt-4\.1 ✗ 503/);
  await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
});

test('the session spend adds up every column', async () => {
  const { compare } = await api();
  assert.ok(compare.sessionSpendUsd > 0);
  assert.match(formatUsd(compare.sessionSpendUsd), /^\$0\.\d+$/);
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
