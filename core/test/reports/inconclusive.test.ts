import { describe, expect, it } from 'vitest';
import { renderHtml } from '../../src/reports/html.ts';
import { renderJUnit, renderJUnitSummary } from '../../src/reports/junit.ts';
import { renderMarkdown, renderMarkdownSummary } from '../../src/reports/markdown.ts';
import { summarize } from '../../src/reports/stats.ts';
import type { HypothesisResult, RunJournal } from '../../src/scenarios/journal.ts';
import { makeJournal } from './fixture.ts';
import { all, parseXml } from './xml.ts';

/**
 * A hypothesis with no evidence is neither a pass nor a caught failure: every format says
 * "inconclusive", counts it apart, and shows whether the scenario allowed it.
 */
function withInconclusive(): RunJournal {
  const journal = makeJournal();
  const unsure = (id: string, allowed: boolean): HypothesisResult => ({
    id,
    kind: 'breaker_recovers_with_single_probe',
    description: `${id}: an open breaker recovers through a single probe`,
    line: 90,
    phase: 'overall',
    verdict: 'inconclusive',
    ...(allowed ? { allowInconclusive: true as const } : {}),
    passed: allowed,
    expected: 'one attempt per half-open period',
    actual: 'inconclusive: no breaker opened',
    examples: [],
  });
  journal.hypotheses = [
    ...journal.hypotheses.map((h) => ({ ...h, passed: true, verdict: 'passed' as const })),
    unsure('no-evidence', false),
    unsure('allowed-no-evidence', true),
  ];
  journal.verdict = 'failed';
  return journal;
}

describe('inconclusive hypotheses in the reports', () => {
  const journal = withInconclusive();

  it('are counted apart from held and failed ones', () => {
    expect(summarize(journal).hypotheses).toMatchObject({
      failed: 0,
      inconclusive: 2,
      inconclusiveAllowed: 1,
    });
  });

  it('JUnit: a failure of type "inconclusive", or skipped with the reason when the scenario allowed it', () => {
    const doc = parseXml(renderJUnit(journal));
    const suite = all(doc, 'testsuite')[0]!;
    expect(suite.attrs).toMatchObject({ failures: '1', skipped: '1', errors: '0' });
    const failures = all(suite, 'failure');
    expect(failures).toHaveLength(1);
    expect(failures[0]!.attrs.type).toBe('inconclusive');
    expect(failures[0]!.text).toContain('inconclusive: the run held no evidence either way');
    const skipped = all(suite, 'skipped');
    expect(skipped[0]!.attrs.message).toBe(
      'inconclusive (allowed by the scenario): inconclusive: no breaker opened',
    );
    expect(parseXml(renderJUnitSummary([journal])).attrs).toMatchObject({ failures: '1', skipped: '1' });
  });

  it('Markdown: ❔ rows, the count in the verdict line, and a section that says which were allowed', () => {
    const md = renderMarkdown(journal);
    expect(md).toContain('2 inconclusive (1 allowed)');
    expect(md.split('\n').filter((l) => l.startsWith('| ❔ |'))).toHaveLength(2);
    expect(md).toContain('### Inconclusive hypotheses');
    expect(md).toContain('— ❔ inconclusive (allowed by the scenario)');
    expect(renderMarkdownSummary([journal])).toMatch(/\| \d+\/\d+ \(2 ❔\) \|/);
  });

  it('HTML: an inconclusive pill, its own row colour, and the count in the header', () => {
    const html = renderHtml(journal);
    // One in the table (the other says "allowed"), one heading each in the section below it.
    expect(html.match(/class="pill pill-unsure"[^>]*>\? inconclusive</g)).toHaveLength(3);
    expect(html).toContain('? inconclusive (allowed)');
    expect(html.match(/<tr class="row-unsure">/g)).toHaveLength(2);
    expect(html).toContain('2 inconclusive (1 allowed)');
    expect(html).toContain('<h2>Inconclusive hypotheses</h2>');
  });

  it('journals without verdicts (version 1) read passed/failed from `passed`', () => {
    const old = makeJournal();
    const md = renderMarkdown({ ...old, schemaVersion: 1 });
    expect(md).not.toContain('❔');
    expect(md).toContain('### Failed hypotheses');
  });
});
