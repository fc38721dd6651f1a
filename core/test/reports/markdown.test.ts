import { Marked } from 'marked';
import { describe, expect, it } from 'vitest';
import { mdText, renderMarkdown, renderMarkdownSummary } from '../../src/reports/markdown.ts';
import { attemptPath, recoveries, summarize } from '../../src/reports/stats.ts';
import { makeJournal, NASTY, PRIMARY, SECONDARY } from './fixture.ts';

/** The cells of a Markdown table row, split on unescaped pipes. */
function cells(row: string): string[] {
  return row
    .trim()
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

describe('Markdown summary', () => {
  it('has the verdict, key figures, a row per hypothesis, faults, and failed hypotheses with examples', () => {
    const journal = makeJournal();
    const md = renderMarkdown(journal);
    const s = summarize(journal);
    expect(md.split('\n')[0]).toBe(`## ❌ ${journal.scenario.name}`);
    expect(md).toContain(`**❌ Failed** — ${s.hypotheses.passed} of ${s.hypotheses.total} hypotheses held`);

    const lines = md.split('\n');
    const figures = cells(lines[lines.indexOf('### Key figures') + 4]!);
    expect(figures[0]).toBe('300');
    expect(figures[1]).toBe(`${(s.successRate! * 100).toFixed(1)}% (${s.failures} failed)`);
    expect(figures).toHaveLength(9);

    const hypothesisRows = lines.filter((l) => /^\| (✅|❌) \|/.test(l));
    expect(hypothesisRows).toHaveLength(journal.hypotheses.length);
    for (const row of hypothesisRows) expect(cells(row)).toHaveLength(5);

    expect(md).toContain('### Faults injected');
    expect(md).toContain('| `openai-503` | service\\_unavailable | `openai-gpt-4o` | 2:00–5:00 |');
    expect(md).toContain('### Failed hypotheses');
    const failed = journal.hypotheses.find((h) => !h.passed)!;
    const example = journal.requests.find((r) => r.id === failed.examples[0])!;
    expect(md).toContain(`\`${attemptPath(example)}\``);
  });

  it('neutralises markup and pipes from the journal', () => {
    const journal = makeJournal({ name: NASTY });
    journal.hypotheses[0]!.description = 'a | b\nc <b>bold</b>';
    const md = renderMarkdown(journal);
    expect(md).not.toContain('<img');
    expect(md).not.toContain('<script');
    expect(md).not.toContain('<b>');
    const row = md.split('\n').find((l) => l.includes('a \\| b'))!;
    expect(cells(row)).toHaveLength(5);
    expect(mdText('*x* [y](z) `c`')).toBe('\\*x\\* \\[y\\](z) \\`c\\`');
  });

  it('hostile names in code spans survive a real Markdown renderer: one cell each, no raw HTML', () => {
    // Rule ids, targets and file names are printed as code; a `\|` or a backtick used to end the
    // cell or the span early, and what followed was rendered as HTML.
    const hostile = [
      'a\\|<img src=x onerror=alert(1)>',
      'b`|<script>alert(2)</script>',
      'c\\`x`|``<b>bold</b>',
      '``',
      '\\',
      'd | e \\\\| f',
    ];
    const journal = makeJournal();
    journal.faultWindows = hostile.map((name, i) => ({
      ruleId: name,
      fault: 'server_error',
      target: `${name}-target`,
      fromMs: i * 1_000,
      toMs: i * 1_000 + 500,
    }));
    journal.scenario.file = hostile[1]!;
    const failed = journal.hypotheses.find((h) => !h.passed)!;
    failed.id = hostile[0]!;
    const markdown = renderMarkdown(journal);
    const html = new Marked({ gfm: true }).parse(markdown, { async: false });
    expect(html).not.toMatch(/<(img|script|b)[\s>]/);
    // The faults table: one row per rule, five cells each, the rule id shown exactly as written.
    const table = html.slice(html.indexOf('<th>Rule</th>'));
    const rows = table
      .slice(0, table.indexOf('</table>'))
      .split('<tr>')
      .slice(1)
      .map((row) => [...row.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((m) => m[1]!));
    expect(rows).toHaveLength(hostile.length);
    const text = (cell: string) =>
      cell
        .replace(/<\/?code>/g, '')
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"')
        .replace(/&#39;/g, "'")
        .replace(/&amp;/g, '&')
        .trim();
    rows.forEach((cells, i) => {
      expect(cells).toHaveLength(5);
      expect(text(cells[0]!)).toBe(hostile[i]);
      expect(text(cells[2]!)).toBe(`${hostile[i]}-target`);
    });
    for (const summary of [renderMarkdownSummary([journal], [hostile[2]!])]) {
      expect(new Marked({ gfm: true }).parse(summary, { async: false })).not.toMatch(/<(img|script|b)[\s>]/);
    }
  });

  it('says an interrupted run evaluated nothing', () => {
    const md = renderMarkdown(makeJournal({ interruptAt: 0.4 }));
    expect(md).toContain('⚠️ Incomplete');
    expect(md).toContain('_None evaluated: the run did not finish._');
  });

  it('summarises several runs with links and the failures of each', () => {
    const md = renderMarkdownSummary(
      [makeJournal(), makeJournal({ name: 'cut short', interruptAt: 0.2 })],
      ['a.html', 'b.html'],
    );
    expect(md.split('\n')[0]).toBe('## ⚠️ Incomplete: 0 of 2 scenarios passed');
    expect(md).toContain('| ⚠️ | cut short | not evaluated |');
    expect(md).toContain('`a.html`');
    expect(md).toContain('#### Failed hypotheses');
  });
});

describe('figures', () => {
  it('computes recovery, fallbacks and paths from the journal', () => {
    const journal = makeJournal();
    const [outage] = recoveries(journal);
    expect(outage!.fromMs).toBe(120_000);
    expect(outage!.toMs).toBe(300_000);
    const closed = journal.breakerTransitions.findLast((t) => t.to === 'closed')!;
    expect(outage!.breakersClosedAfterMs).toBe(closed.atMs - 300_000);
    expect(outage!.breakersStillOpen).toEqual([]);

    const retried = journal.requests.find((r) => r.attempts.length === 3 && r.attempts[0]!.status === 503)!;
    expect(attemptPath(retried)).toMatch(
      new RegExp(
        `^${PRIMARY} ✗ 503 · waited 1\\.00 s \\(retry-after\\) → ${PRIMARY} ✗ 503 → ${SECONDARY} ✓ \\d`,
      ),
    );
  });
});

describe('a gateway graded from outside (run --against)', () => {
  /** Its journal: spend not priced, so every cost is 0 in the records. */
  const graded = () => {
    const journal = makeJournal();
    return {
      ...journal,
      mode: 'against' as const,
      requests: journal.requests.map((r) => ({
        ...r,
        costUsd: 0,
        wastedUsd: 0,
        attempts: r.attempts.map((a) => ({ ...a, costUsd: 0 })),
      })),
    };
  };

  it('shows its cost as not observable, never $0, in the report and the summary', () => {
    const journal = graded();
    const lines = renderMarkdown(journal).split('\n');
    const figures = cells(lines[lines.indexOf('### Key figures') + 4]!);
    expect(figures.slice(5, 8)).toEqual(['not observable', 'not observable', 'not observable']);
    const summary = renderMarkdownSummary([journal]);
    expect(summary).toContain('| not observable | not observable |');
    expect(figures.join(' ')).not.toContain('$');
    expect(summary).not.toContain('$');
  });

  it('a run of the router keeps its costs', () => {
    const lines = renderMarkdown(makeJournal()).split('\n');
    const figures = cells(lines[lines.indexOf('### Key figures') + 4]!);
    expect(figures[5]).toMatch(/^\$\d/);
  });
});
