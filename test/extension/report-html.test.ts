import { renderHtml } from '@switchyard/core/reports';
import { describe, expect, it } from 'vitest';
import { makeJournal } from '../../core/test/reports/fixture.ts';
import { reportForWebview } from '../../extension/src/reportHtml.ts';

/** The report's CSS rules that apply under the given media, in order (a crude, sufficient reading). */
const styles = (html: string) => [...html.matchAll(/<style[^>]*>([\s\S]*?)<\/style>/g)].map((m) => m[1]!);

describe('the scenario report in a webview', () => {
  const report = renderHtml(makeJournal());

  it('puts the report’s own colours back on body, after every other style (VS Code sets body colour)', () => {
    for (const theme of ['dark', 'light'] as const) {
      const html = reportForWebview(report, theme);
      const last = styles(html).at(-1)!;
      expect(last).toMatch(/html, body \{ color: var\(--fg\); background: var\(--bg\); \}/);
      expect(html.indexOf('switchyard-webview-fix')).toBeGreaterThan(
        html.lastIndexOf('</style>', html.indexOf('switchyard-webview-fix')),
      );
      expect(html.indexOf('switchyard-webview-fix')).toBeLessThan(html.indexOf('</head>'));
    }
  });

  it('follows the VS Code theme, not the operating system: the dark palette applies in dark themes only', () => {
    expect(report).toMatch(/@media \(prefers-color-scheme: dark\)/);
    const dark = reportForWebview(report, 'dark');
    const light = reportForWebview(report, 'light');
    expect(dark).not.toMatch(/@media \(prefers-color-scheme/);
    expect(light).not.toMatch(/@media \(prefers-color-scheme/);
    expect(dark).toContain('@media all {');
    expect(light).toContain('@media not all {');
    expect(dark).toContain('<meta name="color-scheme" content="dark">');
    expect(light).toContain('<meta name="color-scheme" content="light">');
  });

  it('keeps the report’s own Content-Security-Policy, and adds one that runs nothing when there is none', () => {
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/;
    expect(csp.exec(reportForWebview(report, 'dark'))?.[1]).toBe(csp.exec(report)?.[1]);
    const bare = reportForWebview('<html><head><title>x</title></head><body>hi</body></html>', 'light');
    expect(csp.exec(bare)?.[1]).toBe("default-src 'none'; style-src 'unsafe-inline'");
    expect(bare).not.toMatch(/<script/);
  });
});
