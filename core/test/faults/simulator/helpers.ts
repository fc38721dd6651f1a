import { http } from 'msw';
import { setupServer } from 'msw/node';
import {
  createSimulator,
  type Simulator,
  type SimulatorOptions,
  ZERO_LATENCY,
} from '../../../src/faults/simulator/index.ts';
import { type Clock, RealClock } from '../../../src/runtime/clock.ts';

export const ORIGIN = 'http://sim.test';
export const FAKE_KEY = 'sk-test-not-a-real-key';

/** One MSW server per test file; it forwards to whichever simulator the test installed. */
export function simServer() {
  let current: Simulator | undefined;
  const seen: Headers[] = [];
  const server = setupServer(
    http.all(`${ORIGIN}/*`, ({ request }) => {
      if (!current) throw new Error('no simulator installed');
      seen.push(new Headers(request.headers));
      return current.handle(request);
    }),
  );
  return {
    server,
    /** Request headers as the simulator received them, in order. */
    seen,
    /** Installs a fresh simulator (zero latency unless the options say otherwise). */
    use(options: Partial<SimulatorOptions> = {}): Simulator {
      current = createSimulator({
        clock: options.clock ?? new RealClock(),
        seed: options.seed ?? 1,
        latency: { '*': ZERO_LATENCY },
        ...options,
      } as SimulatorOptions);
      return current;
    },
  };
}

export function fastSimulator(seed: number, clock: Clock = new RealClock()): Simulator {
  return createSimulator({ clock, seed, latency: { '*': ZERO_LATENCY } });
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** Reads a whole Response body as text frames split by blank lines (SSE) or newlines (NDJSON). */
export async function bodyText(response: Response): Promise<string> {
  return await response.text();
}

export function sseEvents(text: string): Array<{ event: string | undefined; data: string }> {
  return text
    .split('\n\n')
    .filter((frame) => frame.trim() !== '')
    .map((frame) => {
      const event = /^event: (.*)$/m.exec(frame)?.[1];
      const data = /^data: (.*)$/m.exec(frame)?.[1] ?? '';
      return { event, data };
    });
}
