import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { switchyardGatewayConfig } from '../../bench/scorecard/gateways.ts';
import { gradeScenario, scorecardTable } from '../../bench/scorecard.ts';

/**
 * The scorecard's grading of one scenario against Switchyard's gateway: `switchyard gateway --config`
 * in its own process (configured from the scenario's router config, upstreams on the chaos proxy),
 * graded by `switchyard run --against` in another, over real loopback HTTP. Small and bounded: a
 * 2-second 503 window every second upstream call falls in, which the gateway's retries ride out.
 */

const SCENARIO = `name: scorecard-503
description: A gateway graded through a 503 window.
seed: 5
router:
  deployments:
    - { id: openai/gpt-4.1, provider: openai, model: gpt-4.1, apiKey: { env: OPENAI_API_KEY } }
  routes:
    - { name: chat, deployments: [openai/gpt-4.1] }
  policies:
    retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 50 }
simulator:
  latency: { '*': { ttftMedianMs: 2, ttftSigma: 0, tokensPerSecond: 4000, tokensPerSecondSd: 0 } }
load: { concurrency: 1, duration: 2s, requests: 40, streamShare: 0.5, maxOutputTokens: 24 }
faults:
  - { id: openai-503, fault: service_unavailable, target: { provider: openai }, everyNth: 2, from: 200ms, to: 1500ms }
hypotheses:
  - { id: survives, type: success_rate, atLeast: 0.99 }
  - { id: bounded, type: max_attempts_per_request, atMost: 2 }
  - { id: within-budget, type: budget_never_exceeded }
`;

let dir: string;
let file: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-scorecard-'));
  file = join(dir, 'scorecard-503.yaml');
  await writeFile(file, SCENARIO);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the gateway scorecard', () => {
  it("configures Switchyard's gateway from the scenario's router config, upstreams on the proxy", () => {
    const config = parse(switchyardGatewayConfig(file, 'http://127.0.0.1:9')) as {
      deployments: Array<{ baseURL: string; apiKey: unknown }>;
      policies: unknown;
    };
    expect(config.deployments[0]?.baseURL).toBe('http://127.0.0.1:9/v1');
    expect(config.deployments[0]?.apiKey).toEqual({ env: 'SCORECARD_UPSTREAM_KEY' });
    expect(config.policies).toEqual({ retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 50 } });
  });

  it("grades a scenario against Switchyard's gateway in its own process, over loopback", async () => {
    const out = join(dir, 'out');
    const grade = await gradeScenario(file, 'switchyard', { out });
    expect(grade.error).toBeUndefined();
    expect(grade.requests).toBeGreaterThan(5);
    expect(grade.held.sort()).toEqual(['bounded', 'survives']);
    expect(grade.failed).toEqual([]);
    // Its budgets are inside the gateway: not observable from outside, never a pass.
    expect(grade.notObservable).toEqual(['within-budget']);
    const journal = JSON.parse(await readFile(join(out, 'switchyard', 'scorecard-503.journal.json'), 'utf8'));
    expect(journal.mode).toBe('against');
    // The retries rode the 503s out: some requests took two upstream calls.
    expect(journal.requests.some((r: { attempts: unknown[] }) => r.attempts.length === 2)).toBe(true);
    expect(scorecardTable([grade], ['switchyard'])).toContain('| scorecard-503 | 2 / 0 / 1 |');
  }, 90_000);
});
