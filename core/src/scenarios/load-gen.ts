import { base, en, Faker } from '@faker-js/faker';
import { deriveSeed, mulberry32, type Random } from '../faults/chaos/prng.ts';
import { resolveRoute } from '../runtime/routing/select.ts';
import type { ChatMessage, ChatRequest } from '../runtime/types.ts';
import type { LoadSpec, Scenario } from './schema.ts';

/**
 * Request generation. Request i is drawn from its own seed (scenario seed + i), so its content never
 * depends on timing or on how many draws earlier requests made: the same seed gives the same requests.
 */

export interface GeneratedRequest {
  index: number;
  stream: boolean;
  /** The route the request resolves to in the scenario's router config. */
  route: string;
  request: ChatRequest;
}

const DEFAULT_PROMPTS: NonNullable<LoadSpec['prompts']> = [{ words: [8, 60], systemShare: 0, weight: 1 }];

function pickWeighted<T>(items: ReadonlyArray<readonly [T, number]>, random: Random): T | undefined {
  const total = items.reduce((sum, [, w]) => sum + w, 0);
  if (items.length === 0 || !(total > 0)) return undefined;
  let r = random() * total;
  for (const [item, w] of items) {
    r -= w;
    if (r < 0) return item;
  }
  return items.at(-1)![0];
}

const entries = (record: Record<string, number> | undefined) =>
  Object.entries(record ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

const between = (random: Random, [min, max]: readonly [number, number]) =>
  min + Math.floor(random() * (max - min + 1));

/** The share of streamed requests for one request's route and tenant (a tenant's own share wins). */
export function streamShareOf(load: LoadSpec, route: string | undefined, tenant: string | undefined): number {
  const spec = load.streamShare;
  if (typeof spec === 'number') return spec;
  return (
    (tenant !== undefined ? spec.tenants?.[tenant] : undefined) ??
    (route !== undefined ? spec.routes?.[route] : undefined) ??
    spec.default
  );
}

/** `forcedStreamShare` (`run --stream-share`) replaces the scenario's stream shares for every request. */
export function createRequestFactory(
  scenario: Scenario,
  seed: number,
  forcedStreamShare?: number,
): (index: number) => GeneratedRequest {
  const load = scenario.load;
  const prompts = load.prompts ?? DEFAULT_PROMPTS;
  // One Faker, reseeded per request: building a Faker (locale merge) is the expensive part.
  const faker = new Faker({ locale: [en, base] });
  return (index) => {
    const random = mulberry32(deriveSeed(seed, `request:${index}`));
    // Drawn first, whatever the share: the draws after it (and so the requests) do not depend on it.
    const streamDraw = random();
    const sourceIndex = pickWeighted(
      prompts.map((p, i) => [i, p.weight] as const),
      random,
    )!;
    const source = prompts[sourceIndex]!;
    const messages: ChatMessage[] = [];
    if ('words' in source) {
      faker.seed(deriveSeed(seed, `prompt:${index}`));
      const withSystem = random() < source.systemShare;
      if (withSystem) messages.push({ role: 'system', content: faker.lorem.sentence({ min: 6, max: 16 }) });
      const words = between(random, source.words);
      messages.push({ role: 'user', content: words > 0 ? faker.lorem.words(words) : '' });
    } else {
      const list = scenario.promptFiles?.[sourceIndex] ?? [];
      const content = list.length > 0 ? list[Math.floor(random() * list.length)]! : '';
      messages.push({ role: 'user', content });
    }
    const route = pickWeighted(entries(load.routes), random);
    const tenant = pickWeighted(entries(load.tenants), random);
    const task = pickWeighted(entries(load.tasks), random);
    const tier = pickWeighted(entries(load.tiers), random);
    const tags = pickWeighted(
      (load.tags ?? []).map((t) => [t.tags, t.weight] as const),
      random,
    );
    const max = load.maxOutputTokens;
    const maxOutputTokens =
      max === undefined ? undefined : typeof max === 'number' ? max : between(random, max);
    const request: ChatRequest = {
      messages,
      ...(route ? { model: route } : {}),
      ...(tenant ? { tenant } : {}),
      ...(task ? { task } : {}),
      ...(tier ? { tier } : {}),
      ...(tags && tags.length > 0 ? { tags: [...tags] } : {}),
      ...(maxOutputTokens ? { maxOutputTokens } : {}),
    };
    const routeName = resolveRoute(scenario.router, request).name;
    const stream = streamDraw < (forcedStreamShare ?? streamShareOf(load, routeName, tenant));
    return { index, stream, route: routeName, request };
  };
}

/** Gap before the next open-loop arrival, in ms. */
export function arrivalGapMs(load: LoadSpec, random: Random): number {
  const meanMs = 1000 / (load.rate ?? 1);
  if (load.arrivals === 'uniform') return meanMs;
  // Exponential gaps (a Poisson process); 1 - r keeps log away from 0.
  return -Math.log(1 - random()) * meanMs;
}
