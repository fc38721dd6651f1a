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
  fallback: false,
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
      summary: {
        runId: 'r1',
        startedAt: 0,
        title: 't',
        models: ['a/x', 'b/y'],
        fallback: false,
        costUsd: 0.001,
        failed: 0,
        columns: 2,
      },
      finishedAt: 1234,
    });
    expect(state.current?.finished).toBe(true);
    expect(state.current?.finishedAt).toBe(1234);
    expect(state.history.map((h) => h.runId)).toEqual(['r1']);
    state = applyHostMessage(state, { type: 'run-labelled', runId: 'r1', label: 'baseline' });
    expect(state.current?.label).toBe('baseline');
    expect(state.history[0]?.label).toBe('baseline');
    state = applyHostMessage(state, { type: 'run-labelled', runId: 'r1', label: '' });
    expect(state.current).not.toHaveProperty('label');
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

  it('keeps per-column parameters with the comparison, adds and removes columns', () => {
    let state = applyHostMessage(emptyPanelState(), { type: 'run-started', run: { ...run, finished: true } });
    state = applyHostMessage(state, {
      type: 'column-params',
      runId: 'r1',
      column: 'b/y',
      params: { temperature: 0.9, maxOutputTokens: 5, system: '' },
    });
    expect(state.current?.columns[1]?.spec.params).toEqual({ temperature: 0.9, maxOutputTokens: 5 });
    expect(state.current?.finished).toBe(true);
    state = applyHostMessage(state, { type: 'column-params', runId: 'r1', column: 'b/y', params: {} });
    expect(state.current?.columns[1]?.spec).not.toHaveProperty('params');
    const added: ColumnState = {
      spec: { id: 'c/z', provider: 'ollama', model: 'z', simulated: true },
      status: 'pending',
      text: '',
      attempts: [],
    };
    state = applyHostMessage(state, { type: 'column-added', runId: 'r1', column: added });
    expect(state.current?.columns.map((c) => c.spec.id)).toEqual(['a/x', 'b/y', 'c/z']);
    expect(state.current?.finished).toBe(false);
    state = applyHostMessage(state, { type: 'column-removed', runId: 'r1', column: 'a/x' });
    expect(state.current?.columns.map((c) => c.spec.id)).toEqual(['b/y', 'c/z']);
    state = applyHostMessage(state, { type: 'fallback', fallback: true });
    expect(state.fallback).toBe(true);
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
    expect(isWebviewMessage({ type: 'set-fallback', fallback: true })).toBe(true);
    expect(isWebviewMessage({ type: 'set-fallback', fallback: 'yes' })).toBe(false);
    expect(
      isWebviewMessage({
        type: 'set-params',
        column: 'a/x',
        params: { temperature: 0.5, maxOutputTokens: 9 },
      }),
    ).toBe(true);
    expect(isWebviewMessage({ type: 'set-params', column: 'a/x', params: { temperature: 3 } })).toBe(false);
    expect(isWebviewMessage({ type: 'set-params', column: 'a/x', params: { maxOutputTokens: 1.5 } })).toBe(
      false,
    );
    expect(isWebviewMessage({ type: 'set-params', column: 'a/x', params: { top_p: 1 } })).toBe(false);
    expect(isWebviewMessage({ type: 'set-params', column: '', params: {} })).toBe(false);
    expect(isWebviewMessage({ type: 'add-model', id: 'openai/gpt-4o-mini' })).toBe(true);
    expect(isWebviewMessage({ type: 'add-model' })).toBe(false);
    expect(isWebviewMessage({ type: 'remove-model', column: 'a/x' })).toBe(true);
    expect(isWebviewMessage({ type: 'label', runId: 'r1', label: 'baseline' })).toBe(true);
    expect(isWebviewMessage({ type: 'label', runId: 'r1', label: 'x'.repeat(201) })).toBe(false);
    expect(isWebviewMessage({ type: 'save' })).toBe(true);
    expect(isWebviewMessage({ type: 'refresh-catalogue' })).toBe(true);
    expect(isWebviewMessage({ type: 'eval', code: '1' })).toBe(false);
    expect(isWebviewMessage('ready')).toBe(false);
  });
});
