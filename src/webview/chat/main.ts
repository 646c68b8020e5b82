import { hostToWebview, type HistoryEntry, type HostToWebview, type WebviewToHost } from '../../shared/protocol';
import { renderMarkdown, type CodeActions } from './renderMarkdown';

interface VsCodeApi {
  postMessage(message: WebviewToHost): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

type ToolStep = NonNullable<HistoryEntry['toolSteps']>[number];

/** The answer being streamed: its elements and text, and where the current model turn's text starts. */
interface LiveAnswer {
  root: HTMLElement;
  label: HTMLElement;
  notices: HTMLElement;
  steps: HTMLElement;
  body: HTMLElement;
  text: string;
  segmentStart: number;
  thinking?: LiveThinking;
}

/** The collapsed "Thinking…" section of an answer: the model's reasoning, never part of the answer. */
interface LiveThinking {
  details: HTMLDetailsElement;
  summary: HTMLElement;
  body: HTMLElement;
  text: string;
  startedAt: number;
  /** Set once the answer starts (or the turn ends): the reasoning is over. */
  endedAt?: number;
}

const vscode = acquireVsCodeApi();
const post = (m: WebviewToHost) => vscode.postMessage(m);
const actions: CodeActions = {
  copy: (code) => post({ type: 'chat/copy', code }),
  insert: (code) => post({ type: 'chat/insert', code }),
};

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function iconButton(icon: string, label: string, className = 'icon-button'): HTMLButtonElement {
  const b = el('button', className);
  b.title = label;
  b.setAttribute('aria-label', label);
  b.append(el('span', `codicon codicon-${icon}`), document.createTextNode(` ${label}`));
  return b;
}

// Layout: toolbar, tools banner, messages, composer.
const app = document.getElementById('app') as HTMLElement;
const toolbar = el('div', 'toolbar');
const clusterInfo = el('span', 'cluster-info', 'No nodes yet');
const newChat = iconButton('add', 'New Chat');
toolbar.append(clusterInfo, newChat);
const banner = el('div', 'banner');
banner.hidden = true;
const messages = el('div', 'messages');
messages.setAttribute('role', 'log');
messages.setAttribute('aria-live', 'polite');
const composer = el('div', 'composer');
const input = el('textarea', 'prompt');
input.placeholder = 'Ask Harombe… (Enter to send, Shift+Enter for a new line)';
input.rows = 3;
input.setAttribute('aria-label', 'Prompt');
const controls = el('div', 'controls');
const tier = el('select', 'tier');
tier.setAttribute('aria-label', 'Tier');
for (const [value, label] of [['auto', 'Auto'], ['0', 'Tier 0'], ['1', 'Tier 1'], ['2', 'Tier 2']] as const) {
  const o = el('option', undefined, label);
  o.value = value;
  tier.append(o);
}
const attachLabel = el('label', 'attach');
const attach = el('input');
attach.type = 'checkbox';
attach.className = 'attach-selection';
attachLabel.append(attach, document.createTextNode(' Attach selection'));
const send = iconButton('send', 'Send', 'primary-button send');
const stop = iconButton('debug-stop', 'Stop', 'secondary-button stop');
stop.hidden = true;
controls.append(tier, attachLabel, el('span', 'spacer'), stop, send);
composer.append(input, controls);
app.append(toolbar, banner, messages, composer);

let live: LiveAnswer | undefined;
let renderQueued = false;

function setBusy(busy: boolean): void {
  stop.hidden = !busy;
  send.disabled = busy;
}

function scrollDown(): void {
  messages.scrollTop = messages.scrollHeight;
}

function addUser(text: string): void {
  const m = el('div', 'message user');
  m.append(el('div', 'who', 'You'), el('div', 'text', text));
  messages.append(m);
  scrollDown();
}

function newAnswer(): LiveAnswer {
  const root = el('div', 'message assistant');
  const label = el('div', 'label');
  const notices = el('div', 'notices');
  const steps = el('div', 'steps');
  const body = el('div', 'markdown');
  root.append(label, notices, steps, body);
  messages.append(root);
  return { root, label, notices, steps, body, text: '', segmentStart: 0 };
}

/** The answer's reasoning section, made on first use; closed unless the user opens it. */
function thinkingOf(a: LiveAnswer): LiveThinking {
  if (a.thinking) return a.thinking;
  const details = el('details', 'thinking');
  const summary = el('summary');
  const body = el('div', 'markdown thinking-text');
  details.append(summary, body);
  a.body.before(details);
  a.thinking = { details, summary, body, text: '', startedAt: performance.now() };
  setThinkingSummary(a.thinking);
  return a.thinking;
}

function setThinkingSummary(t: LiveThinking, ms?: number): void {
  const elapsed = ms ?? (t.endedAt === undefined ? undefined : t.endedAt - t.startedAt);
  t.summary.replaceChildren(
    el('span', `codicon codicon-${elapsed === undefined ? 'loading codicon-modifier-spin' : 'lightbulb'}`),
    document.createTextNode(elapsed === undefined ? ' Thinking…' : ` Thought for ${formatSeconds(elapsed)}`),
  );
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return s < 10 ? `${s.toFixed(1)} s` : `${Math.round(s)} s`;
}

/** The reasoning is over (the answer started, or the turn ended); `ms` is the host's figure when known. */
function endThinking(a: LiveAnswer, ms?: number): void {
  const t = a.thinking;
  if (!t) return;
  t.endedAt ??= performance.now();
  renderMarkdown(t.body, t.text, undefined);
  setThinkingSummary(t, ms);
}

function dropThinking(a: LiveAnswer): void {
  a.thinking?.details.remove();
  a.thinking = undefined;
}

function renderThinkingHistory(a: LiveAnswer, text: string, ms: number | undefined): void {
  const t = thinkingOf(a);
  t.text = text;
  t.endedAt = t.startedAt;
  renderMarkdown(t.body, text, undefined);
  if (ms === undefined) t.summary.replaceChildren(el('span', 'codicon codicon-lightbulb'), document.createTextNode(' Thought'));
  else setThinkingSummary(t, ms);
}

function renderSoon(a: LiveAnswer): void {
  // Streaming re-renders the whole answer; once per frame is enough.
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    // Reasoning is rendered as it streams too (the section may be open), through the same sanitizer.
    if (a.thinking && a.thinking.endedAt === undefined) renderMarkdown(a.thinking.body, a.thinking.text, undefined);
    renderMarkdown(a.body, a.text, actions);
    scrollDown();
  });
}

function renderStep(container: HTMLElement, step: ToolStep): void {
  let d = container.querySelector<HTMLDetailsElement>(`details[data-id="${CSS.escape(step.id)}"]`);
  if (!d) {
    d = el('details', 'tool-step');
    d.dataset.id = step.id;
    container.append(d);
  }
  d.className = `tool-step ${step.status}`;
  d.replaceChildren();
  const icon = { running: 'loading codicon-modifier-spin', done: 'check', denied: 'circle-slash', error: 'error' }[step.status];
  const summary = el('summary');
  summary.append(el('span', `codicon codicon-${icon}`), document.createTextNode(` ${step.name} ${describeArgs(step.args)} — ${step.status}`));
  d.append(summary);
  const args = el('pre', 'tool-args', JSON.stringify(step.args, null, 2));
  d.append(args);
  if (step.result !== undefined) d.append(el('pre', 'tool-result', step.result));
}

function describeArgs(args: Record<string, unknown>): string {
  const first = args.path ?? args.command ?? args.query;
  return typeof first === 'string' ? first.slice(0, 80) : '';
}

function notice(container: HTMLElement, text: string, kind = 'info'): void {
  const n = el('div', `notice ${kind}`);
  n.append(el('span', `codicon codicon-${kind === 'error' ? 'error' : kind === 'warning' ? 'warning' : 'info'}`), document.createTextNode(` ${text}`));
  container.append(n);
  scrollDown();
}

function renderHistory(entries: HistoryEntry[]): void {
  messages.replaceChildren();
  live = undefined;
  setBusy(false);
  for (const e of entries) {
    if (e.role === 'user') addUser(e.text);
    else {
      const a = newAnswer();
      a.label.textContent = e.label ?? '';
      for (const s of e.toolSteps ?? []) renderStep(a.steps, s);
      if (e.thinking) renderThinkingHistory(a, e.thinking, e.thinkingMs);
      renderMarkdown(a.body, e.text, actions);
    }
  }
  scrollDown();
}

/**
 * A tier whose nodes all take no tools says so in the picker: the agent's file and shell tools
 * then run on another tier's node, or the answer comes without them.
 */
function markToolTiers(nodes: readonly { tier: number; tools?: boolean }[], toolsEnabled: boolean): void {
  for (const option of Array.from(tier.options)) {
    if (option.value === 'auto') continue;
    const inTier = nodes.filter((n) => n.tier === Number(option.value));
    const noTools = toolsEnabled && inTier.length > 0 && inTier.every((n) => n.tools === false);
    option.textContent = `Tier ${option.value}${noTools ? ' (no tools)' : ''}`;
    option.title = noTools ? `The models of tier ${option.value} take no tools: tool calls go to another tier, or the answer comes without them.` : '';
  }
}

function handle(m: HostToWebview): void {
  switch (m.type) {
    case 'cluster/snapshot': {
      const up = m.nodes.filter((n) => n.state === 'available' || n.state === 'degraded').length;
      clusterInfo.textContent = m.nodes.length ? `${up}/${m.nodes.length} nodes available` : 'No nodes configured';
      banner.hidden = m.toolsEnabled;
      banner.textContent = m.toolsReason ?? '';
      markToolTiers(m.nodes, m.toolsEnabled);
      return;
    }
    case 'chat/history':
      renderHistory(m.entries);
      return;
    case 'chat/user':
      addUser(m.text);
      live = newAnswer();
      live.label.textContent = 'Routing…';
      setBusy(true);
      return;
    case 'chat/route':
      live ??= newAnswer();
      live.label.textContent = m.label;
      live.label.title = m.reasons.join('\n');
      return;
    case 'chat/thinking': {
      live ??= newAnswer();
      const t = thinkingOf(live);
      t.text += m.text;
      renderSoon(live);
      return;
    }
    case 'chat/delta':
      live ??= newAnswer();
      if (live.thinking && live.thinking.endedAt === undefined) endThinking(live);
      live.text += m.text;
      renderSoon(live);
      return;
    case 'chat/fallback':
      live ??= newAnswer();
      if (m.discardPartial) {
        live.text = live.text.slice(0, live.segmentStart);
        // The failed node's reasoning goes with its partial answer: the next node's is its own.
        dropThinking(live);
        renderMarkdown(live.body, live.text, actions);
      }
      live.label.textContent = m.label;
      notice(live.notices, `${m.from} failed (${m.reason}); ${m.to} took over${m.discardPartial ? ' and started the answer again' : ''}.`, 'warning');
      return;
    case 'chat/toolStep':
      live ??= newAnswer();
      live.segmentStart = live.text.length;
      renderStep(live.steps, m);
      scrollDown();
      return;
    case 'chat/notice':
      notice(live ? live.notices : messages, m.message);
      return;
    case 'chat/done':
      if (live) {
        live.label.textContent = m.label;
        endThinking(live, m.thinkingMs);
        renderMarkdown(live.body, live.text, actions);
        live.root.classList.add('complete');
      }
      live = undefined;
      setBusy(false);
      scrollDown();
      return;
    case 'chat/error':
      notice(live ? live.notices : messages, m.cancelled ? 'Stopped.' : m.message, m.cancelled ? 'info' : 'error');
      if (live) {
        endThinking(live);
        live.root.classList.add('complete');
      }
      live = undefined;
      setBusy(false);
      return;
  }
}

function submit(): void {
  const text = input.value.trim();
  if (!text || send.disabled) return;
  const t = tier.value === 'auto' ? 'auto' : (Number(tier.value) as 0 | 1 | 2);
  post({ type: 'chat/send', text, tier: t, attach: attach.checked ? 'selection' : null });
  input.value = '';
}

input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    submit();
  }
});
send.addEventListener('click', submit);
stop.addEventListener('click', () => post({ type: 'chat/stop' }));
newChat.addEventListener('click', () => post({ type: 'chat/new' }));

window.addEventListener('message', (event: MessageEvent) => {
  const parsed = hostToWebview.safeParse(event.data);
  if (parsed.success) handle(parsed.data);
});

post({ type: 'ready' });
input.focus();
