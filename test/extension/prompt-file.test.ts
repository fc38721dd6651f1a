import { describe, expect, it } from 'vitest';
import { isPromptFileName, parsePromptFile } from '../../extension/src/shared/promptFile.ts';

describe('prompt files (*.prompt.md)', () => {
  it('reads the front matter and one prompt per level-2 heading, with the lens line', () => {
    const file = parsePromptFile(
      [
        '---',
        'models: [openai/gpt-4.1, anthropic/claude-sonnet-4-6]',
        'temperature: 0.2',
        'maxOutputTokens: 120',
        'system: Be brief.',
        '---',
        '## Rivers',
        'Name three rivers.',
        '',
        '## Retries',
        'What is a retry storm?',
        '',
      ].join('\n'),
    );
    expect(file.issues).toEqual([]);
    expect(file.meta).toEqual({
      models: ['openai/gpt-4.1', 'anthropic/claude-sonnet-4-6'],
      temperature: 0.2,
      maxOutputTokens: 120,
      system: 'Be brief.',
    });
    expect(file.prompts).toEqual([
      { index: 0, title: 'Rivers', text: 'Name three rivers.', line: 6 },
      { index: 1, title: 'Retries', text: 'What is a retry storm?', line: 9 },
    ]);
  });

  it('without headings the whole body is one prompt, titled by the file name', () => {
    const file = parsePromptFile('Summarise TCP.\r\nIn one line.\r\n', '/x/y/tcp.prompt.md');
    expect(file.prompts).toEqual([{ index: 0, title: 'tcp', text: 'Summarise TCP.\nIn one line.', line: 0 }]);
    expect(file.meta).toEqual({});
  });

  it('headings inside code fences are not prompts', () => {
    const file = parsePromptFile('## A\nText\n```md\n## not a prompt\n```\n');
    expect(file.prompts.map((p) => p.title)).toEqual(['A']);
  });

  it('reports problems with their lines instead of throwing', () => {
    const file = parsePromptFile(
      [
        '---',
        'models: []',
        'temperature: 9',
        'colour: blue',
        'chaos: { fault: rate_limit }',
        '---',
        '## Empty',
        '',
      ].join('\n'),
    );
    expect(file.issues.map((i) => [i.line, i.message.split(':')[0]])).toEqual([
      [1, 'models'],
      [2, 'temperature'],
      [3, 'colour'],
      [6, 'prompt "Empty" has no text under its heading'],
    ]);
    expect(file.meta.chaos).toEqual({ fault: 'rate_limit', provider: 'all', rate: 1 });
  });

  it('reports YAML errors and unterminated front matter', () => {
    expect(parsePromptFile('---\nmodels: [a\n---\nHi').issues[0]).toMatchObject({ line: 1 });
    expect(parsePromptFile('---\nmodels: [a]\nHi').issues[0]?.message).toMatch(/never ends/);
  });

  it('recognises prompt file names', () => {
    expect(isPromptFileName('/a/b/Rivers.prompt.md')).toBe(true);
    expect(isPromptFileName('/a/b/README.md')).toBe(false);
  });
});
