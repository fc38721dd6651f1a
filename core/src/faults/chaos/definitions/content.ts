/** 200 answers that are wrong: text and finish reason rewritten in the provider's own format. */
import { PROVIDERS } from '../../../runtime/types.ts';
import { type FaultDefinition, num, str } from '../fault.ts';
import { providersWhere } from '../providers/index.ts';
import { budgetEditor, contentTransform } from '../rewrite.ts';

export const contentFaults: FaultDefinition[] = [
  {
    id: 'content_filter',
    description:
      '200 that was filtered: OpenAI finish_reason content_filter, Anthropic stop_reason refusal; text cut to keepChars.',
    category: 'content',
    providers: providersWhere((d) => d.finishes.content_filter !== undefined),
    stream: 'any',
    endpoints: 'generation',
    params: {
      keepChars: {
        type: 'number',
        default: 0,
        min: 0,
        description: 'Characters of text kept before the filter.',
      },
    },
    action: (_ctx, params) => ({
      kind: 'upstream',
      transform: contentTransform(() => budgetEditor(num(params, 'keepChars'), 'content_filter')),
    }),
  },
  {
    id: 'empty_content',
    description: '200 with an empty answer and an ordinary finish reason.',
    category: 'content',
    providers: PROVIDERS,
    stream: 'any',
    endpoints: 'generation',
    params: {},
    action: () => ({ kind: 'upstream', transform: contentTransform(() => budgetEditor(0)) }),
  },
  {
    id: 'truncated_answer',
    description: '200 cut at the token limit: finish length (OpenAI, Ollama) / max_tokens (Anthropic).',
    category: 'content',
    providers: PROVIDERS,
    stream: 'any',
    endpoints: 'generation',
    params: { maxChars: { type: 'number', default: 20, min: 0, description: 'Characters of text kept.' } },
    action: (_ctx, params) => ({
      kind: 'upstream',
      transform: contentTransform(() => budgetEditor(num(params, 'maxChars'), 'length')),
    }),
  },
  {
    id: 'invalid_json_in_json_mode',
    description:
      'JSON mode was asked but the text is not JSON: the model chatted before it (a prose prefix on the first text).',
    category: 'content',
    providers: PROVIDERS,
    stream: 'any',
    endpoints: 'generation',
    requiresJsonMode: true,
    params: {
      prefix: {
        type: 'string',
        default: 'Sure! Here is the JSON you asked for:\n',
        description: 'Prose put before the JSON.',
      },
    },
    action(_ctx, params) {
      return {
        kind: 'upstream',
        transform: contentTransform(() => {
          let done = false;
          return {
            edit(text) {
              if (done || text === '') return text;
              done = true;
              return `${str(params, 'prefix')}${text}`;
            },
          };
        }),
      };
    },
  },
];
