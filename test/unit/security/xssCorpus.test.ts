import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { JSDOM } from 'jsdom';
import type { renderMarkdown as RenderMarkdown } from '../../../src/webview/chat/renderMarkdown';

const corpusFile = join(__dirname, '../../fixtures/security/xss.txt');

/** One payload per non-empty line; the whole file is also rendered as one answer (fences span lines). */
function xssPayloads(): string[] {
  return readFileSync(corpusFile, 'utf8').split('\n').filter((l) => l.trim().length > 0);
}

const DANGEROUS_TAGS = ['script', 'iframe', 'object', 'embed', 'applet', 'frame', 'frameset', 'base', 'meta', 'link', 'style', 'form', 'input', 'button'];
const URL_ATTRS = ['href', 'src', 'xlink:href', 'action', 'formaction', 'data', 'background', 'poster', 'srcdoc', 'srcset'];

describe('renderMarkdown: XSS corpus (jsdom)', function () {
  this.timeout(30_000);
  let dom: JSDOM;
  let render: (target: HTMLElement, markdown: string) => void;

  before(() => {
    // DOMPurify binds to the window it finds when first loaded, so the DOM must exist before the import.
    dom = new JSDOM('<!doctype html><html><body></body></html>', { url: 'https://webview.local/' });
    const g = globalThis as Record<string, unknown>;
    g.window = dom.window;
    g.document = dom.window.document;
    g.Element = dom.window.Element;
    g.HTMLElement = dom.window.HTMLElement;
    g.Node = dom.window.Node;
    g.DocumentFragment = dom.window.DocumentFragment;
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- must load after the globals above, and tsx's ESM import does not resolve extensionless paths
    const mod = require('../../../src/webview/chat/renderMarkdown') as { renderMarkdown: typeof RenderMarkdown };
    render = (target, markdown) => mod.renderMarkdown(target, markdown, { copy: () => undefined, insert: () => undefined });
  });
  after(() => {
    const g = globalThis as Record<string, unknown>;
    for (const k of ['window', 'document', 'Element', 'HTMLElement', 'Node', 'DocumentFragment']) delete g[k];
    dom?.window.close();
  });

  function assertClean(target: HTMLElement, payload: string): void {
    for (const tag of DANGEROUS_TAGS) {
      // The Copy and Insert buttons renderMarkdown adds itself are the only buttons allowed.
      const found = [...target.querySelectorAll(tag)].filter((el) => !el.parentElement?.classList.contains('code-actions'));
      assert.equal(found.length, 0, `<${tag}> survived: ${payload}`);
    }
    for (const el of target.querySelectorAll('*')) {
      for (const attr of el.attributes) {
        assert.ok(!/^on/i.test(attr.name), `${attr.name} on <${el.localName}> survived: ${payload}`);
        assert.notEqual(attr.name.toLowerCase(), 'style', `style attribute survived: ${payload}`);
        if (URL_ATTRS.includes(attr.name.toLowerCase())) {
          // Browsers ignore ASCII whitespace and control characters inside a scheme.
          const v = [...attr.value].filter((c) => c.charCodeAt(0) > 0x20).join('').toLowerCase();
          assert.ok(!/^(javascript|vbscript|data:text\/html|data:image\/svg)/.test(v), `${attr.name}="${attr.value}" survived: ${payload}`);
        }
      }
    }
  }

  it('leaves no script-capable element, handler or dangerous URL for any of the ≥ 100 payloads', () => {
    const payloads = xssPayloads();
    assert.ok(payloads.length >= 100, `${payloads.length} payloads`);
    const target = dom.window.document.createElement('div');
    for (const p of payloads) {
      render(target, p);
      assertClean(target, p);
    }
    render(target, readFileSync(corpusFile, 'utf8'));
    assertClean(target, '(the whole corpus as one answer)');
  });
});
