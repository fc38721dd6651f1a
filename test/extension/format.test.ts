import { describe, expect, it } from 'vitest';
import {
  attemptViews,
  formatMs,
  formatUsd,
  hintText,
  markColumns,
  runToMarkdown,
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

  it('the fallback path: deployment names only when they change, waits after failures', () => {
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
      'openai/gpt-4.1 ✗ 429, waited 1.2 s → ✗ 429 → anthropic/claude-sonnet-4-6 ✓ 812 ms $0.0012',
    );
    expect(timeline(attempts).map((s) => s.ok)).toEqual([false, false, true]);
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
    expect(timelineText(attempts)).toMatch(/^a ✗ 503, waited 0 ms → ✓/);
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
      col('d', { status: 'failed', error: 'x' }),
    ]);
    expect(marks).toEqual({ cheapest: ['b', 'c'], fastest: ['b'], failed: ['d'] });
    expect(markColumns([col('a', { costUsd: 1, latencyMs: 1 })])).toEqual({
      cheapest: [],
      fastest: [],
      failed: [],
    });
  });

  it('the CodeLens hint and the Markdown export', () => {
    const run: RunState = {
      runId: 'r',
      startedAt: Date.UTC(2026, 0, 1),
      prompt: { title: 'Rivers', text: 'Name | three' },
      columns: [
        col('openai/gpt-4.1', { servedBy: 'anthropic/claude-sonnet-4-6', latencyMs: 1500, costUsd: 0.0012 }),
        col('ollama/llama3.2', { servedBy: 'ollama/llama3.2', latencyMs: 300, costUsd: 0 }),
        col('anthropic/claude-sonnet-4-6', { status: 'failed', error: 'rate_limited: slow down' }),
      ],
      finished: true,
    };
    expect(hintText(run)).toBe(
      'gpt-4.1 ✓ via claude-sonnet-4-6 1.5 s $0.0012 · llama3.2 ✓ 300 ms $0 · claude-sonnet-4-6 ✗ rate_limited',
    );
    const md = runToMarkdown(run);
    expect(md).toContain(
      '| ollama/llama3.2 | done | ollama/llama3.2 | 300 ms | — | — / — | $0 | — | cheapest, fastest, simulated |',
    );
    expect(md).toContain('> Name | three');
    expect(md).toContain('_Failed: rate_limited: slow down_');
  });
});
