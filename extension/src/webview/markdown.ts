/**
 * Answers rendered as Markdown in the compare webview: marked (GitHub-flavoured Markdown) parses,
 * DOMPurify sanitises to a DOM fragment of a short list of tags and attributes (no raw HTML from a
 * model survives, no inline style, no image fetch: the panel's CSP forbids them anyway), and
 * highlight.js colours code blocks with classes only (styled from the theme's colours in compare.css).
 */
import DOMPurify from 'dompurify';
import hljs from 'highlight.js/lib/common';
import { Marked } from 'marked';

const marked = new Marked({ gfm: true, breaks: false, async: false });

const ALLOWED_TAGS = [
  'p',
  'br',
  'hr',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'blockquote',
  'ul',
  'ol',
  'li',
  'pre',
  'code',
  'em',
  'strong',
  'del',
  's',
  'a',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
  'span',
  'sup',
  'sub',
  'kbd',
];
const ALLOWED_ATTR = ['href', 'title', 'class', 'start', 'align', 'colspan', 'rowspan'];

function sanitize(html: string, tags = ALLOWED_TAGS, attrs = ALLOWED_ATTR): DocumentFragment {
  return DOMPurify.sanitize(html, {
    ALLOWED_TAGS: tags,
    ALLOWED_ATTR: attrs,
    RETURN_DOM_FRAGMENT: true,
  }) as unknown as DocumentFragment;
}

/** The answer as a sanitised DOM fragment, its code blocks highlighted. */
export function renderMarkdown(text: string): DocumentFragment {
  const fragment = sanitize(marked.parse(text) as string);
  for (const code of fragment.querySelectorAll<HTMLElement>('pre > code')) {
    const language = /\blanguage-([\w+#-]+)/.exec(code.className)?.[1];
    const source = code.textContent ?? '';
    const result =
      language && hljs.getLanguage(language)
        ? hljs.highlight(source, { language, ignoreIllegals: true })
        : hljs.highlightAuto(source);
    // highlight.js escapes the code it wraps in spans; sanitising again keeps only those spans.
    code.replaceChildren(sanitize(result.value, ['span'], ['class']));
    code.classList.add('hljs');
    if (result.language) code.dataset.language = result.language;
  }
  for (const link of fragment.querySelectorAll('a')) link.setAttribute('rel', 'noopener noreferrer');
  // Code blocks scroll sideways: focusable, so the keyboard can scroll them.
  for (const pre of fragment.querySelectorAll('pre')) pre.tabIndex = 0;
  return fragment;
}
