import { Ollama } from 'ollama';
import { OpenAI } from 'openai';
import { testTokens } from '../security/testTokens';

/** The official npm client that drives the gateway in a case. */
export type OfficialClient = 'ollama' | 'openai';

/** One call through an official client, and what went over the wire beneath it. */
export interface ClientCallOutcome {
  /** The client did not throw, saw exactly one end of the answer, and the wire agrees with it. */
  ok: boolean;
  text: string;
  /** Why the call is not one complete, well-formed answer; empty when `ok`. */
  problems: string[];
  /** The gateway's `X-Harombe-Node`, `X-Harombe-Tier` and `X-Harombe-Reason`. */
  node: string;
  tier: string;
  reason: string;
}

interface Wire {
  headers: Headers | undefined;
  /** The whole body as the gateway sent it; '' if reading it failed. */
  body: Promise<string>;
}

/**
 * Asks the gateway at `url` one question with the official `ollama` or `openai` client, streamed
 * or not, as an application would. The client's own fetch is wrapped to keep the headers and a
 * copy of the raw body: the clients forgive things the wire must not carry (the `ollama` client
 * skips lines that are not JSON with a console warning; the `openai` client ends quietly without
 * `data: [DONE]`), so the raw body is checked as well as what the client returned.
 */
export async function officialClientCall(client: OfficialClient, url: string, tier: 0 | 1 | 2, prompt: string, stream: boolean): Promise<ClientCallOutcome> {
  const wire: Wire = { headers: undefined, body: Promise.resolve('') };
  const fetchRecording: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    wire.headers = res.headers;
    if (!res.body) return res;
    const [forClient, forCheck] = res.body.tee();
    // A body that breaks mid-way rejects both branches; the client reports that one.
    wire.body = new Response(forCheck).text().catch(() => '');
    return new Response(forClient, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
  const model = `harombe:tier${tier}`;
  const messages = [{ role: 'user' as const, content: prompt }];
  const problems: string[] = [];
  let text = '';
  try {
    if (client === 'ollama') {
      const ollama = new Ollama({ host: url, fetch: fetchRecording });
      if (stream) {
        let done = 0;
        for await (const part of await ollama.chat({ model, messages, stream: true })) {
          text += part.message.content;
          if (part.done) done++;
        }
        if (done !== 1) problems.push(`client saw ${done} done records`);
        checkNdjson(await wire.body, text, problems);
      } else {
        const r = await ollama.chat({ model, messages, stream: false });
        text = r.message.content;
        if (r.done !== true) problems.push('answer is not done: true');
        checkJson(await wire.body, problems);
      }
    } else {
      // maxRetries 0: the SDK retries 5xx and broken connections by default, which would hide a lost request.
      const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: testTokens.anyKey, maxRetries: 0, logLevel: 'off', fetch: fetchRecording });
      if (stream) {
        let finishes = 0;
        let usages = 0;
        const chunks = await openai.chat.completions.create({ model, messages, stream: true, stream_options: { include_usage: true } });
        for await (const chunk of chunks) {
          text += chunk.choices[0]?.delta.content ?? '';
          if (chunk.choices[0]?.finish_reason) finishes++;
          if (chunk.usage) usages++;
        }
        if (finishes !== 1) problems.push(`client saw ${finishes} finish_reason chunks`);
        if (usages !== 1) problems.push(`client saw ${usages} usage chunks`);
        checkSse(await wire.body, text, problems);
      } else {
        const r = await openai.chat.completions.create({ model, messages });
        text = r.choices[0]?.message.content ?? '';
        if (r.choices[0]?.finish_reason !== 'stop') problems.push(`finish_reason ${String(r.choices[0]?.finish_reason)}`);
        checkJson(await wire.body, problems);
      }
    }
  } catch (err) {
    problems.push(`client threw: ${err instanceof Error ? err.message : String(err)}`.slice(0, 300));
  }
  const node = wire.headers?.get('x-harombe-node') ?? '';
  const answeredTier = wire.headers?.get('x-harombe-tier') ?? '';
  if (node === '' || !/^[012]$/.test(answeredTier)) problems.push(`missing X-Harombe headers (node "${node}", tier "${answeredTier}")`);
  return { ok: problems.length === 0, text, problems, node, tier: answeredTier, reason: wire.headers?.get('x-harombe-reason') ?? '' };
}

/** Ollama's stream: JSON lines, none an error, the last and only the last `done: true`, and the client saw all the text. */
function checkNdjson(body: string, clientText: string, problems: string[]): void {
  if (!body.endsWith('\n')) problems.push('NDJSON body does not end with a newline');
  const lines = body.split('\n').filter((l) => l !== '');
  let text = '';
  lines.forEach((line, i) => {
    let r: { message?: { content?: string }; done?: boolean; error?: unknown };
    try {
      r = JSON.parse(line) as typeof r;
    } catch {
      problems.push(`line ${i} is not JSON: ${line.slice(0, 60)}`);
      return;
    }
    if (r.error !== undefined) problems.push(`line ${i} is an error record: ${JSON.stringify(r.error).slice(0, 100)}`);
    if ((r.done === true) !== (i === lines.length - 1)) problems.push(`line ${i} of ${lines.length} has done: ${String(r.done)}`);
    text += r.message?.content ?? '';
  });
  if (text !== clientText) problems.push('the client returned other text than the wire carried');
}

/** OpenAI's stream: `data:` events of one completion's chunks, no error event, `data: [DONE]` last and once. */
function checkSse(body: string, clientText: string, problems: string[]): void {
  if (!body.endsWith('data: [DONE]\n\n')) problems.push(`SSE body does not end with data: [DONE] (ends ${JSON.stringify(body.slice(-40))})`);
  const events = body.split('\n\n').filter((e) => e !== '');
  const ids = new Set<string>();
  let text = '';
  events.forEach((e, i) => {
    if (!e.startsWith('data: ')) return void problems.push(`event ${i} is not a data event: ${e.slice(0, 60)}`);
    if (e === 'data: [DONE]') {
      if (i !== events.length - 1) problems.push(`[DONE] at event ${i} of ${events.length}`);
      return;
    }
    let c: { object?: string; id?: string; error?: unknown; choices?: { delta?: { content?: string | null } }[] };
    try {
      c = JSON.parse(e.slice(6)) as typeof c;
    } catch {
      return void problems.push(`event ${i} is not JSON: ${e.slice(0, 60)}`);
    }
    if (c.error !== undefined) problems.push(`event ${i} is an error: ${JSON.stringify(c.error).slice(0, 100)}`);
    if (c.object !== 'chat.completion.chunk') problems.push(`event ${i} is a ${String(c.object)}`);
    ids.add(String(c.id));
    text += c.choices?.[0]?.delta?.content ?? '';
  });
  if (ids.size !== 1) problems.push(`chunks of ${ids.size} completions in one stream`);
  if (text !== clientText) problems.push('the client returned other text than the wire carried');
}

function checkJson(body: string, problems: string[]): void {
  try {
    JSON.parse(body);
  } catch {
    problems.push(`body is not one JSON object: ${body.slice(0, 60)}`);
  }
}
