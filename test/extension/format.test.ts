import { describe, expect, it } from 'vitest';
import {
  attemptViews,
  failureLabel,
  formatMs,
  formatUsd,
  hintText,
  markColumns,
  matchesSearch,
  runToMarkdown,
  runTotals,
  summarizeRun,
  timeline,
  timelineText,
} from '../../extension/src/shared/format.ts';
import type { AttemptView, ColumnState, RunState } from '../../extension/src/shared/protocol.ts';

const col = (id: string, patch: Partial<ColumnState>): ColumnState => ({
  spec: { id, provider: 'openai', model: id, simulated: true },
  status: 'done',
  text: 'answer',
  attempts: [],
  ...patch,
});

describe('formatting', () => {
  it('durations', () => {
    expect(formatMs(812.4)).toBe('812 ms');
    expect(formatMs(1234)).toBe('1.2 s');
    expect(formatMs(125_000)).toBe('2 min 05 s');
    expect(formatMs(undefined)).toBe('—');
  });

  it('costs: fractions of a cent stay readable, never scientific', () => {
    expect(formatUsd(0)).toBe('$0');
    expect(formatUsd(0.0012)).toBe('$0.0012');
    expect(formatUsd(0.000933)).toBe('$0.000933');
    expect(formatUsd(0.00000123)).toBe('$0.00000123');
    expect(formatUsd(0.0456)).toBe('$0.0456');
    expect(formatUsd(12.3456)).toBe('$12.35');
    expect(formatUsd(undefined)).toBe('—');
  });

  it('the fallback path: every chip names its model, a retry is marked and carries the wait before it', () => {
    const attempts: AttemptView[] = [
      {
        n: 1,
        deployment: 'openai/gpt-4.1',
        outcome: 'error',
        status: 429,
        ms: 40,
        waitedMs: 1200,
        delayReason: 'retry-after',
        costUsd: 0,
      },
      { n: 2, deployment: 'openai/gpt-4.1', outcome: 'error', status: 429, ms: 35, costUsd: 0 },
      { n: 3, deployment: 'anthropic/claude-sonnet-4-6', outcome: 'success', ms: 812, costUsd: 0.0012 },
    ];
    expect(timelineText(attempts)).toBe(
      'openai/gpt-4.1 ✗ 429 too many requests → ↻ openai/gpt-4.1 after 1.2 s ✗ 429 too many requests → anthropic/claude-sonnet-4-6 ✓ 812 ms $0.0012',
    );
    expect(timeline(attempts)).toEqual([
      { deployment: 'openai/gpt-4.1', retry: false, ok: false, label: '✗ 429 too many requests' },
      {
        deployment: 'openai/gpt-4.1',
        retry: true,
        ok: false,
        label: '✗ 429 too many requests',
        wait: 'after 1.2 s',
      },
      { deployment: 'anthropic/claude-sonnet-4-6', retry: false, ok: true, label: '✓ 812 ms $0.0012' },
    ]);
    expect(
      timelineText([{ n: 1, deployment: 'a', outcome: 'error', errorKind: 'timeout', ms: 1, costUsd: 0 }]),
    ).toBe('a ✗ timeout');
    expect(timelineText([])).toBe('(no attempt)');
  });

  it('shows a retry after a zero wait (full jitter can draw 0 ms): the retry happened all the same', () => {
    const attempts: AttemptView[] = [
      { n: 1, deployment: 'a', outcome: 'error', status: 503, ms: 5, waitedMs: 0, costUsd: 0 },
      { n: 2, deployment: 'a', outcome: 'success', ms: 7, costUsd: 0 },
    ];
    expect(timelineText(attempts)).toMatch(/^a ✗ 503 service unavailable → ↻ a after 0 ms ✓/);
  });

  it('failures read as the HTTP status and its reason, not the router’s error kind', () => {
    expect(failureLabel(503, 'overloaded')).toBe('503 service unavailable');
    expect(failureLabel(529, 'overloaded')).toBe('529 overloaded');
    expect(failureLabel(401, 'auth')).toBe('401 unauthorized');
    expect(failureLabel(418, 'bad_request')).toBe('418 bad request');
    expect(failureLabel(undefined, 'context_overflow')).toBe('context overflow');
  });

  it('attempt views from a decision trace keep times relative and drop nothing needed', () => {
    const views = attemptViews({
      attempts: [
        {
          n: 1,
          deployment: 'd',
          provider: 'openai',
          model: 'm',
          startedAt: 1000,
          endedAt: 1250,
          outcome: 'error',
          errorKind: 'rate_limited',
          status: 429,
          delayBeforeNextMs: 300,
          delayReason: 'retry-after',
          next: 'retry',
          costUsd: 0,
        },
      ],
    });
    expect(views).toEqual([
      {
        n: 1,
        deployment: 'd',
        outcome: 'error',
        status: 429,
        errorKind: 'rate_limited',
        ms: 250,
        waitedMs: 300,
        delayReason: 'retry-after',
        next: 'retry',
        costUsd: 0,
      },
    ]);
  });

  it('marks the cheapest, the fastest (ties included) and the failed columns', () => {
    const marks = markColumns([
      col('a', { costUsd: 0.002, latencyMs: 900 }),
      col('b', { costUsd: 0.001, latencyMs: 500 }),
      col('c', { costUsd: 0.001, latencyMs: 700 }),
      col('d', { status: 'failed', error: { deployment: 'd', kind: 'auth', status: 401, message: 'x' } }),
    ]);
    expect(marks).toEqual({ cheapest: ['b', 'c'], fastest: ['b'], failed: ['d'], fellBack: [] });
    expect(markColumns([col('a', { costUsd: 1, latencyMs: 1 })])).toEqual({
      cheapest: [],
      fastest: [],
      failed: [],
      fellBack: [],
    });
  });

  it('a column another model answered earns no badge: cheapest and fastest go to columns that answered themselves', () => {
    const marks = markColumns([
      col('openai/gpt-4.1', { servedBy: 'ollama/llama3.2', costUsd: 0, latencyMs: 10 }),
      col('anthropic/claude-sonnet-4-6', {
        servedBy: 'anthropic/claude-sonnet-4-6',
        costUsd: 0.002,
        latencyMs: 900,
      }),
      col('ollama/llama3.2', { servedBy: 'ollama/llama3.2', costUsd: 0.001, latencyMs: 800 }),
    ]);
    expect(marks).toEqual({
      cheapest: ['ollama/llama3.2'],
      fastest: ['ollama/llama3.2'],
      failed: [],
      fellBack: ['openai/gpt-4.1'],
    });
  });

  it('totals: cost with live and simulated apart (a live column’s fallback can be simulated), tokens, wall time', () => {
    const live = (id: string, patch: Partial<ColumnState>) =>
      col(id, { ...patch, spec: { id, provider: 'openai', model: id, simulated: false } });
    const run: RunState = {
      runId: 'r',
      startedAt: 1_000,
      finishedAt: 3_500,
      prompt: { title: 't', text: 'x' },
      fallback: true,
      columns: [
        live('openai/gpt-4.1', {
          costUsd: 0.003,
          inputTokens: 10,
          outputTokens: 20,
          latencyMs: 2_000,
          attempts: [
            { n: 1, deployment: 'openai/gpt-4.1', outcome: 'error', status: 500, ms: 5, costUsd: 0.001 },
            { n: 2, deployment: 'anthropic/claude-sonnet-4-6', outcome: 'success', ms: 5, costUsd: 0.002 },
          ],
        }),
        col('anthropic/claude-sonnet-4-6', {
          costUsd: 0.004,
          inputTokens: 11,
          outputTokens: 30,
          latencyMs: 2_400,
          attempts: [
            { n: 1, deployment: 'anthropic/claude-sonnet-4-6', outcome: 'success', ms: 5, costUsd: 0.004 },
          ],
        }),
      ],
      finished: true,
    };
    expect(runTotals(run)).toEqual({
      costUsd: 0.007,
      liveUsd: 0.001,
      simulatedUsd: 0.006,
      inputTokens: 21,
      outputTokens: 50,
      wallMs: 2_500,
      slowestMs: 2_400,
    });
  });

  it('history search: every word in the label, the prompt title, a model or the fault', () => {
    const run: RunState = {
      runId: 'r',
      startedAt: 0,
      label: 'Baseline before upgrade',
      prompt: { title: 'Rivers', text: 'x' },
      chaos: { fault: 'rate_limit', provider: 'openai', rate: 1 },
      fallback: false,
      columns: [col('openai/gpt-4.1', {}), col('ollama/llama3.2', {})],
      finished: true,
    };
    const summary = summarizeRun(run);
    expect(summary.models).toEqual(['openai/gpt-4.1', 'ollama/llama3.2']);
    for (const q of ['', 'baseline', 'UPGRADE rivers', 'llama3', 'rate_limit gpt-4.1'])
      expect(matchesSearch(summary, q)).toBe(true);
    for (const q of ['claude', 'baseline claude', 'lakes']) expect(matchesSearch(summary, q)).toBe(false);
  });

  it('the CodeLens hint and the Markdown export', () => {
    const run: RunState = {
      runId: 'r',
      startedAt: Date.UTC(2026, 0, 1),
      finishedAt: Date.UTC(2026, 0, 1, 0, 0, 2),
      prompt: { title: 'Rivers', text: 'Name | three' },
      fallback: true,
      columns: [
        col('openai/gpt-4.1', {
          servedBy: 'anthropic/claude-sonnet-4-6',
          servedSimulated: true,
          latencyMs: 1500,
          costUsd: 0.0012,
          error: { deployment: 'openai/gpt-4.1', kind: 'auth', status: 401, message: 'openai: bad key' },
        }),
        col('ollama/llama3.2', { servedBy: 'ollama/llama3.2', latencyMs: 300, costUsd: 0 }),
        col('anthropic/claude-sonnet-4-6', {
          status: 'failed',
          error: {
            deployment: 'anthropic/claude-sonnet-4-6',
            kind: 'rate_limited',
            status: 429,
            message: 'slow down',
          },
        }),
      ],
      finished: true,
    };
    expect(hintText(run)).toBe(
      'gpt-4.1 ✓ via claude-sonnet-4-6 1.5 s $0.0012 · llama3.2 ✓ 300 ms $0 · claude-sonnet-4-6 ✗ 429 too many requests',
    );
    const md = runToMarkdown(run);
    expect(md).toContain(
      '| ollama/llama3.2 | simulated | done | ollama/llama3.2 | 300 ms | — | — / — | $0 | — |  |',
    );
    expect(md).toContain(
      '| openai/gpt-4.1 | simulated | done | anthropic/claude-sonnet-4-6 (simulated) | 1.5 s | — | — / — | $0.0012 | — | answered by a fallback |',
    );
    expect(md).toContain(
      '| **Total** | | | | 2.0 s (wall) | | 0 / 0 | $0.0012 (live $0, simulated $0.0012) | | |',
    );
    expect(md).toContain('> Name | three');
    expect(md).toContain('_Its own model failed: 401 unauthorized — openai: bad key_');
    expect(md).toContain('_Answered by anthropic/claude-sonnet-4-6 (simulated), not by openai/gpt-4.1._');
    expect(md).toContain('_Failed: 429 too many requests — slow down_');
  });
});
