import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChatEvent, DoneEvent, RouteEvent } from '../../src/core/chatEvent';
import { Coordinator } from '../../src/core/coordinator';
import { estimatePromptTokens } from '../../src/core/routing/tokenEstimate';
import { startFakeCluster } from '../fakes/fakeCluster';
import { exactTokens, renderedPromptTokens } from '../fakes/fakeTokenizer';

export interface ContextBenchRow {
  kind: 'code' | 'prose' | 'json';
  /** Target size in exact tokens. */
  size: number;
  exact: number;
  estimate: number;
  /** Node chosen, or the error code when nothing fits. */
  node: string;
  numCtx: number | undefined;
  truncated: boolean;
}

export interface ContextBenchResult {
  rows: ContextBenchRow[];
  undercounts: number;
  /** Largest overcount on code, as a fraction (0.31 = +31%). */
  maxCodeOvercount: number;
  truncations: number;
  /** The estimate's cost: µs for a small chat request (the gateway bench's size), and per 100k tokens. */
  smallRequestUs: number;
  per100kTokensMs: number;
}

const SIZES = [1000, 4000, 16_000, 64_000, 200_000];

/**
 * Requests of 1k-200k tokens of code, prose and JSON through a cluster of 4k / 8k / 128k windows
 * (fake Ollamas counting exactly with cl100k): the estimate against the exact count, the node
 * chosen, the num_ctx it was sent, and whether the fake had to cut the prompt. Figures only.
 */
export async function benchContext(): Promise<ContextBenchResult> {
  const root = path.join(__dirname, '../..');
  const corpus = {
    code: readAll(path.join(root, 'src'), '.ts'),
    prose: ['README.md', 'CHANGELOG.md', 'docs'].flatMap((f) => (fs.existsSync(path.join(root, f)) && fs.statSync(path.join(root, f)).isFile() ? [fs.readFileSync(path.join(root, f), 'utf8')] : [])).join('\n\n'),
    json: fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'),
  };
  const cluster = await startFakeCluster(
    [
      { name: 'small', tier: 0, contextLength: 4096 },
      { name: 'mid', tier: 1, contextLength: 8192 },
      { name: 'big', tier: 2, contextLength: 131_072, options: { modelInfo: { 'qwen2.5:72b': { contextLength: 131_072 } } } },
    ],
    { timeouts: { connect: 5, stall: 30 }, health: { timeout: 5, interval: 600 }, routing: { fallback_strategy: 'graceful' } },
  );
  const coordinator = new Coordinator({ config: cluster.config });
  const rows: ContextBenchRow[] = [];
  try {
    await coordinator.prober.sweep();
    for (const kind of ['code', 'prose', 'json'] as const) {
      for (const size of SIZES) {
        const text = sized(corpus[kind], size);
        const messages = [{ role: 'user' as const, content: text }];
        const exact = renderedPromptTokens(messages);
        const events: ChatEvent[] = [];
        for await (const e of coordinator.complete({ messages, tier: 0 })) events.push(e);
        const route = events.find((e) => e.type === 'route') as RouteEvent | undefined;
        const done = events.find((e) => e.type === 'done') as DoneEvent | undefined;
        const last = events.at(-1);
        const fake = route ? cluster.ollama(route.node) : undefined;
        const body = fake?.requests.filter((r) => r.path === '/api/chat').at(-1)?.body as { options?: { num_ctx?: number } } | undefined;
        rows.push({
          kind,
          size,
          exact,
          estimate: estimatePromptTokens(messages),
          node: done ? done.node : last?.type === 'error' ? last.code : '?',
          numCtx: done ? body?.options?.num_ctx : undefined,
          truncated: Boolean(done && (done.truncated || fake?.lastWindow?.overflow === 'truncated')),
        });
      }
    }
  } finally {
    coordinator.dispose();
    await cluster.stop();
  }

  // The estimate's cost: a gateway bench-sized request, and a large one.
  const small = [{ role: 'user' as const, content: 'stream a short answer please' }];
  const big = [{ role: 'user' as const, content: sized(corpus.code, 100_000) }];
  for (let i = 0; i < 20_000; i++) estimatePromptTokens(small);
  let t = process.hrtime.bigint();
  for (let i = 0; i < 100_000; i++) estimatePromptTokens(small);
  const smallRequestUs = Number(process.hrtime.bigint() - t) / 1000 / 100_000;
  for (let i = 0; i < 3; i++) estimatePromptTokens(big);
  t = process.hrtime.bigint();
  for (let i = 0; i < 10; i++) estimatePromptTokens(big);
  const per100kTokensMs = Number(process.hrtime.bigint() - t) / 1e6 / 10;

  const code = rows.filter((r) => r.kind === 'code');
  return {
    rows,
    undercounts: rows.filter((r) => r.estimate < r.exact).length,
    maxCodeOvercount: Math.max(...code.map((r) => r.estimate / r.exact - 1)),
    truncations: rows.filter((r) => r.truncated).length,
    smallRequestUs,
    per100kTokensMs,
  };
}

function readAll(dir: string, ext: string): string {
  const parts: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) parts.push(readAll(p, ext));
    else if (e.name.endsWith(ext)) {
      const text = fs.readFileSync(p, 'utf8');
      // Generated data (base64 weights) is not the code people paste.
      if (!text.startsWith('// Generated')) parts.push(text);
    }
  }
  return parts.join('\n');
}

/** About `tokens` exact tokens of `corpus` (repeated when it is shorter). */
function sized(corpus: string, tokens: number): string {
  let all = corpus;
  while (all.length < tokens * 6) all += `\n${corpus}`;
  let text = all.slice(0, tokens * 3);
  text = all.slice(0, Math.round((text.length * tokens) / exactTokens(text)));
  return text;
}
