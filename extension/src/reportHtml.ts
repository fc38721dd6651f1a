/**
 * The scenario report as the report webview shows it. Pure (no vscode): unit-tested on a real report.
 *
 * VS Code gives every webview default styles, among them `body { color: var(--vscode-foreground) }`
 * and colours for `code` and links. The report sets its colours on `html`, so the body's rule won:
 * #ccc text on the report's white cards in a dark theme. Here the report's own palette is put back on
 * `body` (and on code and links), and the report follows the VS Code theme rather than the operating
 * system: its dark palette is chosen by `prefers-color-scheme`, which inside a webview reflects the OS
 * (or the browser), not VS Code's theme. Only the media condition is rewritten; the palette stays the
 * report's own. A report without that condition still gets the colour fix.
 */
export type ThemeKind = 'light' | 'dark';

const DARK_QUERY = /@media\s*\(\s*prefers-color-scheme\s*:\s*dark\s*\)/g;
const LIGHT_QUERY = /@media\s*\(\s*prefers-color-scheme\s*:\s*light\s*\)/g;

/** Undoes VS Code's webview defaults that fight the report's own styles (injected last in <head>). */
const HOST_FIX = `html, body { color: var(--fg); background: var(--bg); }
body { padding: 0; }
code { color: inherit; }
a, a code { color: var(--c-p50); }`;

/**
 * Text colours of the report's palette that miss WCAG AA (4.5:1) on its own tinted backgrounds —
 * dark: red on the failure and code tints (3.9–4.4:1), grey on code (4.45:1); light: green and amber
 * on tints (4.3–4.5:1) — replaced by shades that reach 5:1 or more on every one of them. Found by
 * the axe check of the end-to-end suite; belongs in the report's palette upstream.
 */
const READABLE: Record<ThemeKind, string> = {
  dark: ':root { --fail: #ff7b72; --fg-muted: #a3acb6; }',
  light: ':root { --pass: #116329; --warn: #7d4e00; --incomplete: #7d4e00; }',
};

const FALLBACK_CSP = `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`;

export function reportForWebview(html: string, theme: ThemeKind): string {
  let out = html;
  // Never show a document without a policy: fall back to one that runs nothing.
  if (!/http-equiv="Content-Security-Policy"/i.test(out))
    out = out.replace(/<head>/i, `<head>${FALLBACK_CSP}`);
  out = out
    .replace(DARK_QUERY, theme === 'dark' ? '@media all' : '@media not all')
    .replace(LIGHT_QUERY, theme === 'light' ? '@media all' : '@media not all')
    .replace(/<meta name="color-scheme" content="[^"]*">/i, `<meta name="color-scheme" content="${theme}">`);
  const style = `<style id="switchyard-webview-fix">\n${HOST_FIX}\n${READABLE[theme]}\n</style>`;
  return /<\/head>/i.test(out) ? out.replace(/<\/head>/i, `${style}\n</head>`) : `${style}\n${out}`;
}
