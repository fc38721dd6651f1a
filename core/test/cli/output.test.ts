import { describe, expect, it } from 'vitest';
import { terminalSafe } from '../../src/cli/shared/output.ts';

const HOSTILE =
  'evil\u001b]0;pwned\u0007\u001b[2J\u001b[1A\r\u009b31m\u001b]8;;https://attacker.example\u001b\\link';

describe('terminal output', () => {
  it('terminalSafe keeps the colours paint() adds and nothing else', () => {
    const red = (text: string) => `\u001b[31m${text}\u001b[39m`;
    expect(terminalSafe(`${red('FAIL')} ${HOSTILE}\tok\n`)).toBe(
      `${red('FAIL')} evil]0;pwned[2J[1A31m]8;;https://attacker.example\\link\tok\n`,
    );
    expect(terminalSafe('a\u{F0000}b\u001b[5m')).toBe('ab[5m');
  });
});
