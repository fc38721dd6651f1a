import { describe, expect, it } from 'vitest';
import {
  applyHostMessage,
  type ColumnState,
  emptyPanelState,
  isWebviewMessage,
  type RunState,
} from '../../extension/src/shared/protocol.ts';

const run: RunState = {
  runId: 'r1',
  startedAt: 0,
  prompt: { title: 't', text: 'hello' },
  columns: [
    {
      spec: { id: 'a/x', provider: 'openai', model: 'x', simulated: true },
      status: 'pending',
      text: '',
      attempts: [],
    },
    {
      spec: { id: 'b/y', provider: 'anthropic', model: 'y', simulated: false },
      status: 'pending',
      text: '',
      attempts: [],
    },
  ],
  finished: false,
};

describe('compare panel protocol', () => {
  it('streams deltas into their column, finishes it, and records the run in the history', () => {
    let state = applyHostMessage(emptyPanelState(), { type: 'run-started', run });
    state = applyHostMessage(state, { type: 'column-delta', runId: 'r1', column: 'a/x', text: 'Hel' });
    state = applyHostMessage(state, { type: 'column-delta', runId: 'r1', column: 'a/x', text: 'lo' });
    expect(state.current?.columns[0]).toMatchObject({ status: 'streaming', text: 'Hello' });
    expect(state.current?.columns[1]?.text).toBe('');
    const done: ColumnState = { ...state.current!.columns[0]!, status: 'done', costUsd: 0.001 };
    state = applyHostMessage(state, { type: 'column-finished', runId: 'r1', column: 'a/x', result: done });
    expect(state.current?.columns[0]?.status).toBe('done');
    state = applyHostMessage(state, {
      type: 'run-finished',
      runId: 'r1',
      summary: { runId: 'r1', startedAt: 0, title: 't', costUsd: 0.001, failed: 0, columns: 2 },
    });
    expect(state.current?.finished).toBe(true);
    expect(state.history.map((h) => h.runId)).toEqual(['r1']);
  });

  it('ignores messages of another run and resets a column for a rerun', () => {
    let state = applyHostMessage(emptyPanelState(), { type: 'run-started', run });
    const before = state;
    state = applyHostMessage(state, { type: 'column-delta', runId: 'old', column: 'a/x', text: 'x' });
    expect(state).toBe(before);
    state = applyHostMessage(state, { type: 'column-delta', runId: 'r1', column: 'b/y', text: 'x' });
    state = applyHostMessage(state, { type: 'column-reset', runId: 'r1', column: 'b/y' });
    expect(state.current?.columns[1]).toMatchObject({ status: 'pending', text: '', attempts: [] });
  });

  it('accepts only well-formed webview messages', () => {
    expect(isWebviewMessage({ type: 'ready' })).toBe(true);
    expect(isWebviewMessage({ type: 'rerun', column: 'a/x' })).toBe(true);
    expect(
      isWebviewMessage({ type: 'rerun', chaos: { fault: 'rate_limit', provider: 'openai', rate: 0.5 } }),
    ).toBe(true);
    expect(isWebviewMessage({ type: 'rerun', chaos: null })).toBe(true);
    expect(
      isWebviewMessage({ type: 'rerun', chaos: { fault: 'rate_limit', provider: 'mars', rate: 1 } }),
    ).toBe(false);
    expect(
      isWebviewMessage({ type: 'rerun', chaos: { fault: 'rate_limit', provider: 'openai', rate: 2 } }),
    ).toBe(false);
    expect(isWebviewMessage({ type: 'export', format: 'pdf' })).toBe(false);
    expect(isWebviewMessage({ type: 'eval', code: '1' })).toBe(false);
    expect(isWebviewMessage('ready')).toBe(false);
  });
});
