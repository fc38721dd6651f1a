import { describe, expect, it } from 'vitest';
import { escapeXml, renderJUnit, renderJUnitSummary } from '../../src/reports/junit.ts';
import { makeJournal, NASTY } from './fixture.ts';
import { all, parseXml } from './xml.ts';

describe('JUnit XML', () => {
  it('has one testcase per hypothesis with counts that match', () => {
    const journal = makeJournal();
    const doc = parseXml(renderJUnit(journal));
    const failedCount = journal.hypotheses.filter((h) => !h.passed).length;
    expect(failedCount).toBeGreaterThan(0);

    expect(doc.name).toBe('testsuites');
    const [suite, ...others] = all(doc, 'testsuite');
    expect(others).toHaveLength(0);
    const cases = all(suite!, 'testcase');
    expect(cases).toHaveLength(journal.hypotheses.length);
    expect(suite!.attrs).toMatchObject({
      name: journal.scenario.name,
      tests: String(journal.hypotheses.length),
      failures: String(failedCount),
      errors: '0',
      skipped: '0',
    });
    expect(doc.attrs.tests).toBe(String(journal.hypotheses.length));
    expect(all(doc, 'failure')).toHaveLength(failedCount);
    expect(all(doc, 'skipped')).toHaveLength(0);

    journal.hypotheses.forEach((h, i) => {
      expect(cases[i]!.attrs.classname).toBe(journal.scenario.name);
      expect(cases[i]!.attrs.name).toBe(`[${h.phase}] ${h.description}`);
      expect(cases[i]!.attrs.line).toBe(String(h.line));
      expect(all(cases[i]!, 'failure')).toHaveLength(h.passed ? 0 : 1);
    });
  });

  it('puts expected, actual and example requests with their attempt path in a failure', () => {
    const journal = makeJournal();
    const doc = parseXml(renderJUnit(journal));
    const hypothesis = journal.hypotheses.find((h) => h.id === 'availability')!;
    expect(hypothesis.passed).toBe(false);
    const testcase = all(doc, 'testcase').find((c) => c.attrs.name?.includes(hypothesis.description))!;
    const failure = all(testcase, 'failure')[0]!;
    expect(failure.attrs.type).toBe('success_rate');
    expect(failure.attrs.message).toBe(`expected ${hypothesis.expected}, actual ${hypothesis.actual}`);
    expect(failure.text).toContain(`Expected: ${hypothesis.expected}`);
    expect(failure.text).toContain(`Actual:   ${hypothesis.actual}`);
    const example = journal.requests.find((r) => r.id === hypothesis.examples[0])!;
    expect(failure.text).toContain(example.id);
    // e.g. "openai-gpt-4o ⤼ skipped (circuit_open) → anthropic-sonnet ✗ 529 → ollama-llama3 ✗ timeout"
    expect(failure.text).toMatch(/anthropic-sonnet ✗ 529 → ollama-llama3 ✗ timeout/);
  });

  it('reports an interrupted run as an error, never as skipped', () => {
    const journal = makeJournal({ interruptAt: 0.4 });
    const doc = parseXml(renderJUnit(journal));
    const suite = all(doc, 'testsuite')[0]!;
    expect(suite.attrs).toMatchObject({ tests: '1', failures: '0', errors: '1', skipped: '0' });
    const errors = all(doc, 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.attrs.type).toBe('incomplete');
    expect(errors[0]!.attrs.message).toMatch(/^run incomplete/);
    expect(all(doc, 'skipped')).toHaveLength(0);
    expect(doc.attrs.errors).toBe('1');
  });

  it('keeps the hypotheses a partially evaluated journal has, plus the error', () => {
    const complete = makeJournal();
    const journal = { ...complete, status: 'incomplete' as const, verdict: 'incomplete' as const };
    const suite = all(parseXml(renderJUnit(journal)), 'testsuite')[0]!;
    expect(all(suite, 'testcase')).toHaveLength(complete.hypotheses.length + 1);
    expect(suite.attrs.errors).toBe('1');
  });

  it('escapes hostile text everywhere it lands and round-trips it', () => {
    const journal = makeJournal({ name: NASTY, description: NASTY });
    const nastyHypothesis = {
      ...journal.hypotheses[0]!,
      description: NASTY,
      expected: NASTY,
      actual: `${NASTY}\nline 2`,
    };
    journal.hypotheses = [nastyHypothesis, ...journal.hypotheses.slice(1)];
    journal.scenario.file = `dir/${NASTY}.yaml`;
    const xml = renderJUnit(journal);
    const doc = parseXml(xml);

    // What XML cannot carry at all (a control character, a lone surrogate) becomes U+FFFD.
    const carried = NASTY.replace('\u0001', '\uFFFD').replace('\uD800', '\uFFFD');
    const suite = all(doc, 'testsuite')[0]!;
    expect(suite.attrs.name).toBe(carried);
    const testcase = all(suite, 'testcase')[0]!;
    expect(testcase.attrs.classname).toBe(carried);
    expect(testcase.attrs.name).toBe(`[overall] ${carried}`);
    const failure = all(testcase, 'failure')[0]!;
    // Line breaks survive in attributes as character references.
    expect(failure.attrs.message).toBe(`expected ${carried}, actual ${carried}\nline 2`);
    expect(failure.text).toContain(`Actual:   ${carried}`);
    expect(xml).not.toContain('<script>');
    expect(xml).not.toContain('<img');
  });

  it('uses a checker that rejects malformed XML (so the checks above mean something)', () => {
    expect(() => parseXml('<a>&</a>')).toThrow(/bare '&'/);
    expect(() => parseXml('<a>1 < 2</a>')).toThrow();
    expect(() => parseXml('<a><b></a>')).toThrow(/closes/);
    expect(() => parseXml('<a x=1/>')).toThrow(/malformed/);
    expect(() => parseXml('<a x="&nbsp;"/>')).toThrow(/unknown entity/);
    expect(() => parseXml('<a>\u0001</a>')).toThrow(/not allowed/);
    expect(() => parseXml('<a>')).toThrow(/unclosed/);
  });

  it('escapes the five XML specials', () => {
    expect(escapeXml(`<a href="x">&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;');
    expect(escapeXml('ok 😀 é')).toBe('ok 😀 é');
  });

  it('writes one testsuite per scenario in a summary', () => {
    const journals = [
      makeJournal(),
      makeJournal({ seed: 11, name: 'second' }),
      makeJournal({ interruptAt: 0.3, name: 'third' }),
    ];
    const doc = parseXml(renderJUnitSummary(journals));
    const suites = all(doc, 'testsuite');
    expect(suites.map((s) => s.attrs.name)).toEqual([journals[0]!.scenario.name, 'second', 'third']);
    const tests = journals.reduce((n, j) => n + j.hypotheses.length, 0) + 1;
    const failures = journals.reduce((n, j) => n + j.hypotheses.filter((h) => !h.passed).length, 0);
    expect(doc.attrs).toMatchObject({ tests: String(tests), failures: String(failures), errors: '1' });
    expect(all(doc, 'testcase')).toHaveLength(tests);
  });
});
