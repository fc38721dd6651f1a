import type { Router } from '../../src/runtime/router.ts';
import { ask, collect } from './fixture.ts';

/**
 * One request, non-streamed and streamed, to nothing or its error: a failed stream ends with an
 * error event, which is thrown here as complete() would reject.
 */
export const outcomeModes = [
  { name: 'non-streamed', run: (router: Router) => router.complete(ask).then(() => undefined) },
  {
    name: 'streamed',
    run: (router: Router) =>
      collect(router.stream(ask)).then((events) => {
        const last = events.at(-1);
        if (last?.type === 'error') throw last.error;
      }),
  },
] as const;
