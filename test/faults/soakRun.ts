import { Coordinator } from '../../src/core/coordinator';
import type { FakeCluster } from '../fakes/fakeCluster';
import { seededRandom } from '../fakes/seededRandom';
import { expectedAnswer, startMatrixCluster } from './faultCase';

export interface SoakOptions {
  durationMs: number;
  concurrency: number;
  /** RSS is compared with its value at the end of the warm-up; default 20 % of the run, 5–60 s. */
  warmUpMs?: number;
  /** Progress lines go here; the CLI prints them, the test keeps quiet. */
  log?: (line: string) => void;
}

export interface SoakResult {
  requests: number;
  lost: number;
  wrong: number;
  kills: number;
  rssWarmMb: number;
  rssEndMb: number;
  rssGrowth: number;
  leakedHandles: string[];
  /** The chaos loop's seed: HAROMBE_TEST_SEED=<seed> replays the same kills and restarts. */
  seed: number;
}

const NODES = ['t0a', 't0b', 't1a', 't1b', 't2a', 't2b'];
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function settleGc(): void {
  // Only there when run with --expose-gc; without it RSS is measured as it is.
  (globalThis as { gc?: () => void }).gc?.();
}

function countByType(list: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of list) m.set(t, (m.get(t) ?? 0) + 1);
  return m;
}

/**
 * `concurrency` request loops against a coordinator over 6 fake nodes, while a chaos loop kills
 * (refuse / die mid-stream) and restarts random nodes, at most two at a time.
 */
export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  const log = opts.log ?? (() => undefined);
  const random = seededRandom();
  log(`chaos seed ${random.seed} (HAROMBE_TEST_SEED=${random.seed} replays it)`);
  const baseline = countByType(process.getActiveResourcesInfo());
  const cluster: FakeCluster = await startMatrixCluster();
  const coordinator = new Coordinator({ config: cluster.config });
  await coordinator.prober.sweep();
  const start = Date.now();
  const end = start + opts.durationMs;
  const warmUpEnd = start + (opts.warmUpMs ?? Math.min(60_000, Math.max(5_000, opts.durationMs * 0.2)));
  let requests = 0;
  let lost = 0;
  let wrong = 0;
  let kills = 0;
  let rssWarm = 0;

  const worker = async (w: number) => {
    for (let i = 0; Date.now() < end; i++) {
      const tier = ((w + i) % 3) as 0 | 1 | 2;
      const prompt = `soak ${w} ${i}`;
      let text = '';
      let answered: 0 | 1 | 2 | undefined;
      let failed = false;
      for await (const e of coordinator.complete({ messages: [{ role: 'user', content: prompt }], tier })) {
        if (e.type === 'delta') text += e.text;
        else if (e.type === 'fallback' && e.discardPartial) text = '';
        else if (e.type === 'done') answered = e.tier;
        else if (e.type === 'error') failed = true;
      }
      requests++;
      if (failed || answered === undefined) lost++;
      else if (text !== expectedAnswer(answered, prompt)) wrong++;
    }
  };

  const chaos = async () => {
    const down = new Set<string>();
    while (Date.now() < end) {
      await sleep(200 + random.next() * 600);
      if (rssWarm === 0 && Date.now() >= warmUpEnd) {
        settleGc();
        rssWarm = process.memoryUsage().rss;
        log(`warm RSS ${(rssWarm / 2 ** 20).toFixed(1)} MB after ${((Date.now() - start) / 1000).toFixed(0)} s, ${requests} requests`);
      }
      const name = NODES[Math.floor(random.next() * NODES.length)] as string;
      if (down.has(name)) {
        // Half the time a clean restart (drops every connection), half the time just the fault cleared.
        if (random.next() < 0.5) await cluster.ollama(name).restart();
        await cluster.node(name).setFault({ type: 'none' });
        down.delete(name);
      } else if (down.size < 2) {
        await cluster.node(name).setFault(random.next() < 0.5 ? { type: 'refuse' } : { type: 'die_mid_stream', afterChunks: 1 + Math.floor(random.next() * 5) });
        down.add(name);
        kills++;
      }
      // The fakes log every request they get; that log would otherwise be the growth being measured.
      for (const n of NODES) cluster.node(n).requests.length = 0;
      // Stands in for the periodic health sweep (its interval is 60 s in this config).
      await coordinator.prober.sweep();
    }
    for (const name of down) await cluster.node(name).setFault({ type: 'none' });
  };

  const progress = setInterval(() => log(`${((Date.now() - start) / 1000).toFixed(0)} s: ${requests} requests, ${lost} lost, ${wrong} wrong, ${kills} kills, RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(1)} MB, heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(1)} MB`), 10_000);
  try {
    await Promise.all([...Array.from({ length: opts.concurrency }, (_, w) => worker(w)), chaos()]);
  } finally {
    clearInterval(progress);
  }
  await sleep(1000);
  settleGc();
  await sleep(200);
  settleGc();
  const rssEnd = process.memoryUsage().rss;
  coordinator.dispose();
  await cluster.stop();
  await sleep(500);
  const after = countByType(process.getActiveResourcesInfo());
  const leakedHandles: string[] = [];
  for (const [type, n] of after) if (n > (baseline.get(type) ?? 0)) leakedHandles.push(`${type} ×${n - (baseline.get(type) ?? 0)}`);
  if (rssWarm === 0) rssWarm = rssEnd;
  return {
    requests,
    lost,
    wrong,
    kills,
    rssWarmMb: rssWarm / 2 ** 20,
    rssEndMb: rssEnd / 2 ** 20,
    rssGrowth: rssEnd / rssWarm - 1,
    leakedHandles,
    seed: random.seed,
  };
}
