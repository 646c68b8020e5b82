import DOMPurify from 'dompurify';
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import css from 'highlight.js/lib/languages/css';
import diff from 'highlight.js/lib/languages/diff';
import go from 'highlight.js/lib/languages/go';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';
import { Marked } from 'marked';

for (const [name, lang] of Object.entries({ bash, css, diff, go, java, javascript, json, python, rust, typescript, xml, yaml })) hljs.registerLanguage(name, lang);
hljs.registerAliases(['sh', 'shell', 'zsh'], { languageName: 'bash' });
hljs.registerAliases(['ts', 'tsx'], { languageName: 'typescript' });
hljs.registerAliases(['js', 'jsx'], { languageName: 'javascript' });
hljs.registerAliases(['html', 'svg'], { languageName: 'xml' });
hljs.registerAliases(['py'], { languageName: 'python' });
hljs.registerAliases(['yml'], { languageName: 'yaml' });

const marked = new Marked({ gfm: true, breaks: false, async: false });

/** What a code block's Copy and Insert buttons do with its text. */
export interface CodeActions {
  copy(code: string): void;
  insert(code: string): void;
}

/**
 * Renders model output (hostile: it may quote a web page or a file with markup in it) into
 * `target`. marked turns it into HTML, DOMPurify strips scripts, handlers and dangerous URLs
 * before anything touches the DOM; highlight.js then works on the sanitized nodes (it escapes
 * what it emits). Code blocks get Copy and Insert buttons when `actions` is given.
 */
export function renderMarkdown(target: HTMLElement, markdown: string, actions: CodeActions | undefined): void {
  const html = marked.parse(markdown) as string;
  target.innerHTML = DOMPurify.sanitize(html, { USE_PROFILES: { html: true }, FORBID_TAGS: ['style', 'form', 'input', 'button'], FORBID_ATTR: ['style'] });
  for (const code of target.querySelectorAll<HTMLElement>('pre > code')) {
    const pre = code.parentElement as HTMLElement;
    const lang = /language-([\w+-]+)/.exec(code.className)?.[1];
    const text = code.textContent ?? '';
    if (lang && hljs.getLanguage(lang)) {
      code.innerHTML = hljs.highlight(text, { language: lang, ignoreIllegals: true }).value;
      code.classList.add('hljs');
    }
    // A reasoning model's draft is rendered without them: only the answer's code is offered for use.
    if (!actions) continue;
    const bar = document.createElement('div');
    bar.className = 'code-actions';
    bar.append(button('copy', 'Copy', () => actions.copy(text)), button('insert', 'Insert', () => actions.insert(text)));
    pre.before(bar);
  }
}

function button(icon: string, label: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement('button');
  b.className = 'icon-button';
  b.title = label === 'Insert' ? 'Insert at Cursor' : label;
  const i = document.createElement('span');
  i.className = `codicon codicon-${icon}`;
  b.append(i, document.createTextNode(` ${label}`));
  b.addEventListener('click', onClick);
  return b;
}
