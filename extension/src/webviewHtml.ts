import { randomBytes } from 'node:crypto';
import { escapeHtml } from '@switchyard/core/reports';
import * as vscode from 'vscode';

export function nonce(): string {
  return randomBytes(18).toString('base64url');
}

/**
 * The compare panel's document: scripts only by nonce from the extension's own dist folder, styles
 * only from there, no network, no inline handlers. The initial state rides in a data attribute
 * (JSON, HTML-escaped), not in an inline script.
 */
export function compareHtml(
  webview: vscode.Webview,
  extensionUri: vscode.Uri,
  initialState: unknown,
): string {
  const n = nonce();
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', 'compare.js'));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', 'compare.css'));
  const csp = [
    "default-src 'none'",
    `style-src ${webview.cspSource}`,
    `script-src 'nonce-${n}'`,
    `img-src ${webview.cspSource} data:`,
    `font-src ${webview.cspSource}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const state = escapeHtml(JSON.stringify(initialState));
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${style}">
<title>Switchyard Compare</title>
</head>
<body>
<div id="app" data-state="${state}"></div>
<script nonce="${n}" src="${script}"></script>
</body>
</html>`;
}
