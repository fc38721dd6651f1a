import { describe, expect, it } from 'vitest';
import { isPromptFileName, parsePromptFile, promptAtLine } from '../../extension/src/shared/promptFile.ts';

describe('prompt files (*.switchyard.md, and the older *.prompt.md)', () => {
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

  it('recognises prompt file names: the new suffix (no clash with Copilot’s *.prompt.md) and the old one', () => {
    expect(isPromptFileName('/a/b/rivers.switchyard.md')).toBe(true);
    expect(isPromptFileName('/a/b/Rivers.prompt.md')).toBe(true);
    expect(isPromptFileName('/a/b/README.md')).toBe(false);
    expect(isPromptFileName('/a/b/switchyard.md')).toBe(false);
    expect(parsePromptFile('Hello', '/x/tcp.switchyard.md').prompts[0]?.title).toBe('tcp');
  });

  it('the cursor picks the prompt of its own section; an empty section is said, never another prompt run', () => {
    const file = parsePromptFile(
      ['---', 'models: [openai/gpt-4.1]', '---', '## Empty', '', '## Real', 'Text', '## Also empty', ''].join(
        '\n',
      ),
    );
    expect(file.sections).toEqual([
      { title: 'Empty', line: 3 },
      { title: 'Real', line: 5, promptIndex: 0 },
      { title: 'Also empty', line: 7 },
    ]);
    expect(promptAtLine(file, 3)).toEqual({ kind: 'empty', title: 'Empty', line: 3 });
    expect(promptAtLine(file, 4)).toEqual({ kind: 'empty', title: 'Empty', line: 3 });
    expect(promptAtLine(file, 6)).toMatchObject({ kind: 'prompt', prompt: { title: 'Real' } });
    expect(promptAtLine(file, 8)).toEqual({ kind: 'empty', title: 'Also empty', line: 7 });
    // Above the first heading with one prompt in the file: that one.
    expect(promptAtLine(file, 1)).toMatchObject({ kind: 'prompt', prompt: { title: 'Real' } });
    const two = parsePromptFile('---\ntitle: x\n---\n## A\na\n## B\nb\n');
    expect(promptAtLine(two, 0)).toEqual({ kind: 'choose' });
    expect(promptAtLine(parsePromptFile('Just one prompt.'), 0)).toMatchObject({ kind: 'prompt' });
    expect(promptAtLine(parsePromptFile(''), 0)).toEqual({ kind: 'none' });
  });

  it('locates each model id and the chaos fault in the front matter (for diagnostics and quick fixes)', () => {
    const file = parsePromptFile(
      [
        '---',
        'models: [gpt-4.1, "anthropic/claude-sonet-4-6"]',
        'chaos: { fault: rate_limt }',
        '---',
        'Hi',
      ].join('\n'),
    );
    expect(file.refs.models).toEqual([
      { value: 'gpt-4.1', line: 1, column: 9, endColumn: 16 },
      { value: 'anthropic/claude-sonet-4-6', line: 1, column: 19, endColumn: 45 },
    ]);
    expect(file.refs.fault).toEqual({ value: 'rate_limt', line: 2, column: 16, endColumn: 25 });
    const block = parsePromptFile(['---', 'models:', '  - openai/gpt-4.1', '---', 'Hi'].join('\n'));
    expect(block.refs.models).toEqual([{ value: 'openai/gpt-4.1', line: 2, column: 4, endColumn: 18 }]);
  });
});
