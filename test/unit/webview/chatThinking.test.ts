import { strict as assert } from 'node:assert';
import { JSDOM } from 'jsdom';
import type { HostToWebview, WebviewToHost } from '../../../src/shared/protocol';
import { ANSWER, DRAFT_CODE, FINAL_CODE, REASONING } from '../../fakes/reasoningSample';

/** The chat webview's script, run in jsdom as VS Code's webview would run it. */
describe('chat webview: reasoning in a collapsed Thinking… section, the answer apart (jsdom)', function () {
  this.timeout(30_000);
  let dom: JSDOM;
  const posted: WebviewToHost[] = [];
  const globals = ['window', 'document', 'Element', 'HTMLElement', 'Node', 'DocumentFragment', 'CSS', 'requestAnimationFrame', 'acquireVsCodeApi', 'MessageEvent'];

  // DOMPurify binds to the window it finds when first loaded: another test's jsdom must not be the one it keeps.
  const forgetDomModules = () => {
    for (const key of Object.keys(require.cache)) if (/dompurify|renderMarkdown|webview[\\/]chat[\\/]main/.test(key)) delete require.cache[key];
  };

  before(() => {
    forgetDomModules();
    dom = new JSDOM('<!doctype html><html><body><div id="app"></div></body></html>', { url: 'https://webview.local/' });
    const g = globalThis as Record<string, unknown>;
    g.window = dom.window;
    g.document = dom.window.document;
    g.Element = dom.window.Element;
    g.HTMLElement = dom.window.HTMLElement;
    g.Node = dom.window.Node;
    g.DocumentFragment = dom.window.DocumentFragment;
    g.CSS = { escape: (s: string) => s.replace(/["\\]/g, '\\$&') };
    // One frame is "now": the test reads the DOM right after each message.
    g.requestAnimationFrame = (cb: (t: number) => void) => {
      cb(0);
      return 0;
    };
    g.acquireVsCodeApi = () => ({ postMessage: (m: WebviewToHost) => posted.push(m) });
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the script runs on load, after the globals above
    require('../../../src/webview/chat/main');
  });
  after(() => {
    const g = globalThis as Record<string, unknown>;
    for (const k of globals) delete g[k];
    dom?.window.close();
    forgetDomModules();
  });

  const send = (m: HostToWebview) => dom.window.dispatchEvent(new dom.window.MessageEvent('message', { data: m }));
  const lastAnswer = () => [...dom.window.document.querySelectorAll('.message.assistant')].at(-1) as HTMLElement;
  const thinkingOf = (a: HTMLElement) => a.querySelector<HTMLDetailsElement>('details.thinking');
  const route: HostToWebview = { type: 'chat/route', tier: 2, node: 'big', model: 'qwen3:32b', label: 'tier 2 · big', reasons: [] };
  const pieces = (text: string) => text.match(/[\s\S]{1,7}/g) ?? [];

  it('posts ready when it loads', () => {
    assert.deepEqual(posted[0], { type: 'ready' });
  });

  it('streams reasoning into a closed section, then the answer below it; code buttons only on the answer', () => {
    send({ type: 'chat/user', text: 'make total() shorter' });
    send(route);
    for (const p of pieces(REASONING)) send({ type: 'chat/thinking', text: p });
    const a = lastAnswer();
    const details = thinkingOf(a);
    assert.ok(details, 'a Thinking… section');
    assert.equal(details.open, false, 'collapsed');
    assert.match(details.querySelector('summary')?.textContent ?? '', /Thinking…/);
    assert.ok(details.querySelector('.thinking-text')?.textContent?.includes(DRAFT_CODE), 'the reasoning streams into it');
    assert.equal(a.querySelector(':scope > .markdown:not(.thinking-text)')?.textContent, '', 'no answer yet');

    for (const p of pieces(ANSWER)) send({ type: 'chat/delta', text: p });
    const answerBody = a.querySelector(':scope > .markdown') as HTMLElement;
    assert.ok(answerBody.textContent?.includes(FINAL_CODE));
    assert.ok(!answerBody.textContent?.includes(DRAFT_CODE), 'the draft is not in the answer');
    assert.equal(answerBody.querySelectorAll('.code-actions').length, 1, 'Copy/Insert on the answer’s code');
    assert.equal(details.querySelectorAll('.code-actions').length, 0, 'none on the draft’s');
    assert.match(details.querySelector('summary')?.textContent ?? '', /Thought for/);
    assert.equal(details.compareDocumentPosition(answerBody) & dom.window.Node.DOCUMENT_POSITION_FOLLOWING, dom.window.Node.DOCUMENT_POSITION_FOLLOWING);

    send({ type: 'chat/done', label: 'tier 2 · big', ttftMs: 2600, totalMs: 3000, thinkingMs: 2500 });
    assert.match(details.querySelector('summary')?.textContent ?? '', /Thought for 2\.5 s/);
  });

  it('renders reasoning through the sanitizer, like the answer', () => {
    send({ type: 'chat/user', text: 'x' });
    send({ type: 'chat/thinking', text: 'Maybe <img src=x onerror="alert(1)"><script>alert(2)</script> [a](javascript:alert(3))' });
    const details = thinkingOf(lastAnswer()) as HTMLElement;
    assert.equal(details.querySelectorAll('script').length, 0);
    for (const el of details.querySelectorAll('*')) {
      assert.ok(![...el.attributes].some((at) => /^on/i.test(at.name)), el.outerHTML);
      assert.ok(!/^javascript:/i.test(el.getAttribute('href') ?? ''), el.outerHTML);
    }
    send({ type: 'chat/error', message: 'Stopped.', cancelled: true });
  });

  it('drops the reasoning with the partial answer when another node takes over', () => {
    send({ type: 'chat/user', text: 'y' });
    send({ type: 'chat/thinking', text: 'first node reasoning' });
    send({ type: 'chat/fallback', from: 'a', to: 'b', reason: 'connection reset', discardPartial: true, label: 'tier 1 · b' });
    assert.equal(thinkingOf(lastAnswer()), null);
    send({ type: 'chat/thinking', text: 'second node reasoning' });
    const text = thinkingOf(lastAnswer())?.textContent ?? '';
    assert.ok(text.includes('second node') && !text.includes('first node'), text);
    send({ type: 'chat/delta', text: 'ok' });
    send({ type: 'chat/done', label: 'tier 1 · b', ttftMs: 1, totalMs: 2 });
  });

  it('shows the reasoning of a saved answer collapsed after a reload', () => {
    send({ type: 'chat/history', entries: [{ role: 'user', text: 'q' }, { role: 'assistant', text: ANSWER, thinking: REASONING, thinkingMs: 12_000 }] });
    const a = lastAnswer();
    const details = thinkingOf(a);
    assert.ok(details && !details.open);
    assert.match(details.querySelector('summary')?.textContent ?? '', /Thought for 12 s/);
    assert.ok(!(a.querySelector(':scope > .markdown') as HTMLElement).textContent?.includes(DRAFT_CODE));
  });
});
