import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { chartData, escapeHtml, renderHtml } from '../../src/reports/html.ts';
import { makeJournal, NASTY } from './fixture.ts';

const scripts = (html: string) => [...html.matchAll(/<script(?: [^>]*)?>([\s\S]*?)<\/script>/g)];

describe('HTML report (as text)', () => {
  it('is self-contained: no external URL is referenced by any element', () => {
    const html = renderHtml(makeJournal());
    expect(html).not.toMatch(/\s(src|href|srcset|action|poster)\s*=/i);
    expect(html).not.toMatch(/@import|url\(\s*['"]?(https?:|\/\/)/i);
    expect(html).not.toMatch(/<link\b/i);
    // uPlot is inlined, not fetched.
    expect(html).toContain('var uPlot=function()');
  });

  it('allows exactly its own inline scripts by hash and nothing from the network', () => {
    const html = renderHtml(makeJournal());
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/
      .exec(html)![1]!
      .replace(/&#39;/g, "'");
    expect(csp).toContain("default-src 'none'");
    const executable = scripts(html).filter((m) => !m[0].startsWith('<script type="application/json"'));
    expect(executable).toHaveLength(2);
    for (const m of executable) {
      const hash = createHash('sha256').update(m[1]!, 'utf8').digest('base64');
      expect(csp).toContain(`'sha256-${hash}'`);
    }
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
  });

  it('escapes journal text in markup and keeps the embedded data from closing its element', () => {
    const journal = makeJournal({ name: NASTY, description: NASTY });
    journal.faultWindows[0]!.fault = NASTY;
    journal.hypotheses[0]!.actual = NASTY;
    const html = renderHtml(journal);
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('<script>window.__xss');
    expect(html).toContain('&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;');
    // Only the three real script elements open; the data block's JSON has no raw '<'.
    expect(html.match(/<script/g)).toHaveLength(3);
    const data = /<script type="application\/json" id="switchyard-data">([\s\S]*?)<\/script>/.exec(html)![1]!;
    expect(data).not.toContain('<');
    expect(JSON.parse(data).faults[0].label).toContain(NASTY);
  });

  it('escapes the HTML specials', () => {
    expect(escapeHtml(`<a title='x' href="y">&</a>`)).toBe(
      '&lt;a title=&#39;x&#39; href=&quot;y&quot;&gt;&amp;&lt;/a&gt;',
    );
  });

  it('buckets the run for the charts and shades the merged fault windows', () => {
    const data = chartData(makeJournal());
    expect(data.durationS).toBe(600);
    expect(data.bucketS).toBe(15);
    expect(data.x).toHaveLength(40);
    expect(data.latency.p95).toHaveLength(40);
    expect(data.faults.map((f) => [f.from, f.to])).toEqual([
      [120, 300],
      [420, 435],
    ]);
    const primary = data.breakers[0]!;
    expect(primary.segments.some((s) => s[2] === 'open')).toBe(true);
    expect(primary.segments.at(-1)![2]).toBe('closed');
    // Rates are percentages and the fault shows in them: fallbacks rise during the outage.
    const during = data.x
      .map((x, i) => (x > 130 && x < 290 ? data.rates.fallback[i]! : null))
      .filter((v) => v !== null);
    expect(Math.min(...during)).toBeGreaterThan(50);
  });

  it('renders the interrupted state without hypotheses', () => {
    const html = renderHtml(makeJournal({ interruptAt: 0.4 }));
    expect(html).toContain('badge-incomplete');
    expect(html).toContain('No hypothesis was evaluated: the run did not finish.');
  });

  it("shows a graded gateway's cost as not observable, with no cost chart", () => {
    const journal = makeJournal();
    const html = renderHtml({
      ...journal,
      mode: 'against',
      requests: journal.requests.map((r) => ({ ...r, costUsd: 0, wastedUsd: 0 })),
    });
    expect(html).toContain('not observable');
    expect(html).not.toContain('data-chart="cost"');
    expect(html).not.toMatch(/>\$0</);
    expect(renderHtml(journal)).toContain('data-chart="cost"');
  });
});
