import { AdaptiveDebounce } from '../../src/core/completion/adaptiveDebounce';
import { CompletionEngine, type CompletionResult } from '../../src/core/completion/completionEngine';
import { buildCompletionPrompt } from '../../src/core/completion/completionPrompt';
import { FimClient } from '../../src/core/completion/fimClient';
import { Coordinator } from '../../src/core/coordinator';
import { percentile } from '../../src/core/metrics/clusterMetrics';
import { Canceller } from '../../src/core/util/canceller';
import { systemClock } from '../../src/core/util/clock';
import { silentLogger } from '../../src/core/util/logger';
import { startFakeCluster } from '../fakes/fakeCluster';
import type { RecordedRequest } from '../fakes/fakeServer';

const FIM = 'qwen2.5-coder:1.5b';
/** Normal prompt processing on the fast node and on the steady one, and the spike on 10 % of the fast node's requests, ms. */
const FAST_MS = 15;
const STEADY_MS = 30;
const SPIKE_MS = 400;
/** Token pace while streaming (≈ 70 tokens/s, a 1.5B model on a laptop GPU). */
const TOKEN_MS = 14;

export interface CompletionBenchMode {
  hedging: boolean;
  shown: number;
  keyToGhost: { p50: number; p90: number; p99: number };
  /** Requests sent to nodes beyond one per completion asked for (hedges), as a share. */
  extraRequests: number;
  requests: number;
  /** The engine's own time over the node's, per answered request that was not hedged, ms. */
  overheadP50Ms: number;
  staleShown: number;
  /** Keystroke that cancelled a request → the node stopped working on it, ms. */
  cancelStopP50Ms: number;
  cancelStopMaxMs: number;
  cancelled: number;
  servedBy: Record<string, number>;
}

/** A seeded PRNG (mulberry32), so both modes replay the same trace and the same spikes. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Bursts of 1–5 keys 40–120 ms apart, then a pause of 1.1–1.4 s (reading, thinking): when a suggestion can land. */
function typingTrace(segments: number): number[] {
  const r = rng(18);
  const gaps: number[] = [];
  for (let s = 0; s < segments; s++) {
    const keys = 1 + Math.floor(r() * 5);
    for (let k = 0; k < keys - 1; k++) gaps.push(40 + r() * 80);
    gaps.push(1100 + r() * 300);
  }
  return gaps;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Replays a typing trace against two tier-0 fake Ollama nodes, as the inline provider drives the
 * engine: every keystroke cancels the request before it, waits the adaptive debounce, then asks.
 */
async function runMode(hedging: boolean, segments: number): Promise<CompletionBenchMode> {
  const spikes = rng(10);
  const cluster = await startFakeCluster(
    [
      { name: 'fast', tier: 0, model: FIM, options: { fim: () => ' a + b;\n', chunkDelayMs: TOKEN_MS, firstTokenDelayMs: () => (spikes() < 0.1 ? SPIKE_MS : FAST_MS) } },
      { name: 'steady', tier: 0, model: FIM, options: { fim: () => ' a + b;\n', chunkDelayMs: TOKEN_MS, firstTokenDelayMs: STEADY_MS } },
    ],
    { health: { timeout: 1, interval: 600 } },
  );
  const coordinator = new Coordinator({ config: cluster.config });
  try {
    await coordinator.prober.sweep();
    const registry = coordinator.registry;
    const engine = new CompletionEngine({
      nodes: () => registry.list(),
      isEligible: (name) => registry.isEligible(name),
      acquire: (name) => registry.acquire(name),
      backend: new FimClient({ endpoint: (n) => registry.endpoint(n), dispatcher: (n) => registry.dispatcher(n), protocol: (n) => registry.protocol(n), model: () => undefined }),
      routing: () => ({ tier: 0 }),
      clock: systemClock,
      logger: silentLogger,
      hedgeBudget: hedging ? 0.1 : 0,
    });
    // An editor that has run a while: the engine has seen both nodes (fast's usual 15 ms, steady's 30 ms).
    for (let i = 0; i < 10; i++) {
      engine.latency.record('fast', FAST_MS + 3);
      engine.latency.record('steady', STEADY_MS + 3);
    }
    const debounce = new AdaptiveDebounce();
    const keyToGhost: number[] = [];
    const overhead: number[] = [];
    const servedBy: Record<string, number> = {};
    /** The keystroke time that cancelled each prompt (a prompt is unique per keystroke). */
    const cancelledAt = new Map<string, number>();
    let staleShown = 0;
    let text = 'export function sum(values: number[]): number {\n  let total = 0;\n  for (const v of values) total +=';
    const suffix = '\n  return total;\n}\n';
    let current: { signal: Canceller; prefix: string } | undefined;
    const pending: Promise<void>[] = [];
    let n = 0;
    for (const gap of typingTrace(segments)) {
      const keyAt = performance.now();
      if (current) {
        cancelledAt.set(current.prefix, keyAt);
        current.signal.abort();
      }
      text += 'abcdefghij'[n++ % 10];
      debounce.keystroke(keyAt);
      const source = text + suffix;
      const prompt = buildCompletionPrompt(source, text.length, [], { tokens: 1024 });
      const signal = new Canceller();
      const mine = { signal, prefix: prompt.prefix };
      const typed = text;
      current = mine;
      pending.push(
        (async () => {
          const node = engine.rankNodes('a.ts')[0];
          const wait = debounce.delay(node ? engine.latency.quantile(node.name, 0.5) : undefined);
          await sleep(wait);
          if (signal.aborted) return;
          const askedAt = performance.now();
          const sentBefore = new Set(cluster.node('fast').requests.concat(cluster.node('steady').requests));
          let result: CompletionResult | undefined;
          try {
            result = await engine.complete({ file: 'a.ts', prompt, signal });
          } catch {
            return;
          }
          const doneAt = performance.now();
          if (!result) return;
          // The engine's own guard, before the provider's: an answer for text the user has since changed.
          if (text !== typed) {
            staleShown++;
            return;
          }
          keyToGhost.push(doneAt - keyAt);
          const by = result.node ?? 'cache';
          servedBy[by] = (servedBy[by] ?? 0) + 1;
          if (result.node && !result.hedged) {
            const mineOnNode = cluster.node(result.node).requests.filter((r) => !sentBefore.has(r) && r.path === '/api/generate');
            const rec = mineOnNode[0];
            if (rec?.receivedAt !== undefined && rec.finishedAt !== undefined) overhead.push(doneAt - askedAt - (rec.finishedAt - rec.receivedAt));
          }
        })(),
      );
      await sleep(gap);
    }
    await Promise.all(pending);
    await sleep(200);
    const all: RecordedRequest[] = [...cluster.node('fast').requests, ...cluster.node('steady').requests].filter((r) => r.path === '/api/generate');
    const stops: number[] = [];
    let cancelled = 0;
    for (const r of all) {
      if (!r.aborted) continue;
      cancelled++;
      const prompt = (r.body as { prompt?: string }).prompt ?? '';
      const at = [...cancelledAt.entries()].find(([p]) => prompt.endsWith(p))?.[1];
      if (at !== undefined && r.stoppedAt !== undefined) stops.push(r.stoppedAt - at);
    }
    const asked = engine.counts.requested;
    return {
      hedging,
      shown: keyToGhost.length,
      keyToGhost: { p50: percentile(keyToGhost, 0.5) ?? NaN, p90: percentile(keyToGhost, 0.9) ?? NaN, p99: percentile(keyToGhost, 0.99) ?? NaN },
      extraRequests: asked ? engine.counts.hedged / asked : 0,
      requests: all.length,
      overheadP50Ms: percentile(overhead, 0.5) ?? NaN,
      staleShown,
      cancelStopP50Ms: percentile(stops, 0.5) ?? NaN,
      cancelStopMaxMs: stops.length ? Math.max(...stops) : NaN,
      cancelled,
      servedBy,
    };
  } finally {
    coordinator.dispose();
    await cluster.stop();
  }
}

/**
 * Hedging off and on over the same trace and the same spikes, side by side (each on its own pair
 * of fake nodes): the fakes mostly wait on timers, and two runs at once keep the bench near a minute.
 */
export async function benchCompletion(segments = Number(process.env.HAROMBE_BENCH_COMPLETION_SEGMENTS ?? 60)): Promise<CompletionBenchMode[]> {
  return Promise.all([runMode(false, segments), runMode(true, segments)]);
}
