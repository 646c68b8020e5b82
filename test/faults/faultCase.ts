import type { ChatEvent } from '../../src/core/chatEvent';
import { Coordinator } from '../../src/core/coordinator';
import { GatewayServer } from '../../src/core/gateway/gatewayServer';
import { fakeReply } from '../fakes/fakeReply';
import { startFakeCluster, type FakeCluster } from '../fakes/fakeCluster';
import type { Fault } from '../fakes/fault';
import { officialClientCall, type OfficialClient } from './officialClientCall';

export type FaultTarget = 'coordinator' | 'gateway';

/** The API the faulty node speaks: Ollama's NDJSON or an OpenAI-compatible server's SSE. */
export type FaultyKind = 'ollama' | 'openai';

export interface FaultCaseOptions {
  /** Default `ollama`. */
  faultyKind?: FaultyKind;
  /** Drive the gateway with this official npm client instead of raw `fetch` NDJSON requests. */
  client?: OfficialClient;
}

/** One turn of the recovery loop: a health sweep, then one request that prefers the healed node. */
export interface RecoveryStep {
  /** Since the fault was cleared, at the end of this step. */
  atMs: number;
  sweepMs: number;
  /** The faulty node's state after the sweep. */
  probed: string;
  requestMs: number;
  answeredBy: string;
  breakerAfter: string;
}

/** One row of docs/reliability.md. */
export interface FaultResult {
  fault: string;
  target: FaultTarget;
  faultyKind: FaultyKind;
  /** What sent the requests: `complete()`, raw `fetch`, or an official client. */
  client: 'complete()' | 'fetch' | OfficialClient;
  requests: number;
  lost: number;
  dupOrTruncated: number;
  /** Failed attempts on the faulty node, and how many of them were reported as a fallback. */
  faultyAttempts: number;
  fallbacksReported: number;
  breakerOpened: boolean;
  /** Breaker opened, or the health prober marked the node unavailable first: either way it stopped taking requests. */
  takenOut: boolean;
  recovered: boolean;
  recoverMs: number;
  wallMs: number;
  /** Official-client cases: answers whose `X-Harombe-Reason` says they fell back from the faulty node. */
  headerFallbacks?: number;
  /** Official-client cases: how many calls streamed and how many asked for one JSON. */
  streamedCalls?: number;
  /** The first few reasons why calls did not count as one complete, well-formed answer. */
  problems: string[];
  /** The faulty node's breaker when the fault was cleared, and each turn of the recovery loop after it. */
  breakerAtHeal: string;
  recovery: RecoveryStep[];
  successThreshold: number;
}

const MODELS = ['qwen2.5:3b', 'qwen2.5:14b', 'qwen2.5:72b'] as const;
export const FAULTY = 't1a';
const promptOf = (i: number) => `fault matrix request ${i}`;
export const expectedAnswer = (tier: 0 | 1 | 2, prompt: string) => fakeReply(undefined, [{ role: 'user', content: prompt }], MODELS[tier]);

/** Half of the load goes to tier 1, the busiest tier, where the faulty node lives. */
export const tierOf = (i: number): 0 | 1 | 2 => (i % 4 === 0 ? 0 : i % 4 === 2 ? 2 : 1);

/**
 * Three tiers, two nodes each with the same model, so the gateway's splice policy can continue a
 * stream. `faultyKind: 'openai'` makes the faulty node an OpenAI-compatible server while its
 * tier-mate stays an Ollama, so a failover also crosses protocols.
 */
export async function startMatrixCluster(stallSeconds = 0.5, faultyKind: FaultyKind = 'ollama'): Promise<FakeCluster> {
  return startFakeCluster(
    ([0, 1, 2] as const).flatMap((tier) =>
      ['a', 'b'].map((s) => {
        const name = `t${tier}${s}`;
        return { name, tier, model: MODELS[tier], flavour: name === FAULTY ? faultyKind : 'ollama', options: { chunkDelayMs: 1 } };
      }),
    ),
    {
      timeouts: { connect: 1, stall: stallSeconds },
      health: { timeout: 0.5, interval: 60 },
      circuit_breaker: { failure_threshold: 5, timeout: 0.3, half_open_timeout: 2 },
    },
  );
}

interface Outcome {
  ok: boolean;
  text: string;
  /** Tier of the node that answered, when known: a graceful fallback to another tier answers with that tier's model. */
  tier?: 0 | 1 | 2;
  /** Why it is not ok, for the failure message. */
  problem?: string;
}

async function viaCoordinator(coordinator: Coordinator, tier: 0 | 1 | 2, prompt: string, counts: { attempts: number; reported: number }): Promise<Outcome> {
  let text = '';
  let done = 0;
  let failed = false;
  let answeredTier: 0 | 1 | 2 | undefined;
  let problem: string | undefined;
  for await (const e of coordinator.complete({ messages: [{ role: 'user', content: prompt }], tier }) as AsyncIterable<ChatEvent>) {
    if (e.type === 'route' && e.node === FAULTY) counts.attempts++;
    if (e.type === 'delta') text += e.text;
    if (e.type === 'fallback') {
      if (e.to === FAULTY) counts.attempts++;
      if (e.from === FAULTY) counts.reported++;
      if (e.discardPartial) text = '';
    }
    if (e.type === 'done') {
      done++;
      answeredTier = e.tier;
      if (e.node === FAULTY) counts.attempts--; // it answered: not a failed attempt
    }
    if (e.type === 'error') {
      failed = true;
      problem = `error event: ${e.message}`;
    }
  }
  if (done !== 1) problem ??= `${done} done events`;
  return { ok: done === 1 && !failed, text, tier: answeredTier, problem };
}

async function viaGateway(url: string, tier: 0 | 1 | 2, prompt: string): Promise<Outcome> {
  const res = await fetch(`${url}/api/chat`, {
    method: 'POST',
    body: JSON.stringify({ model: `harombe:tier${tier}`, messages: [{ role: 'user', content: prompt }] }),
  });
  const body = await res.text();
  if (res.status !== 200) return { ok: false, text: '', problem: `HTTP ${res.status}: ${body.slice(0, 200)}` };
  let text = '';
  let done = 0;
  let error = false;
  for (const line of body.split('\n')) {
    if (line === '') continue;
    const r = JSON.parse(line) as { message?: { content?: string }; done?: boolean; error?: string };
    if (r.error !== undefined) error = true;
    text += r.message?.content ?? '';
    if (r.done) done++;
  }
  return { ok: done === 1 && !error, text, ...((done !== 1 || error) && { problem: `${done} done records${error ? ', an error record' : ''}: ${body.slice(-200)}` }) };
}

/** How a case that is not a fake's own fault (the link-down case) breaks and heals the faulty node. */
export interface FaultHooks {
  /** Changes the config before the coordinator is made (e.g. point `t1a` at a node in a namespace). */
  prepare?(cluster: FakeCluster): void;
  inject(): Promise<void>;
  clear(): Promise<void>;
  /** Inject this long after the requests were fired, so answers are mid-stream when it hits. */
  injectAfterMs?: number;
}

/**
 * Injects `fault` into one tier-1 node, fires `requests` concurrent requests over the three tiers,
 * then clears the fault and sends traffic until that node's breaker is closed again.
 */
export async function runFaultCase(
  name: string,
  fault: Fault | FaultHooks,
  target: FaultTarget,
  requests: number,
  stallSeconds = 0.5,
  opts: FaultCaseOptions = {},
): Promise<FaultResult> {
  const started = Date.now();
  const faultyKind = opts.faultyKind ?? 'ollama';
  const client = opts.client;
  if (client && target !== 'gateway') throw new Error('an official client drives the gateway only');
  const cluster = await startMatrixCluster(stallSeconds, faultyKind);
  const hooks: FaultHooks =
    'inject' in fault ? fault : { inject: () => cluster.node(FAULTY).setFault(fault), clear: () => cluster.node(FAULTY).setFault({ type: 'none' }) };
  hooks.prepare?.(cluster);
  const coordinator = new Coordinator({ config: cluster.config });
  let gateway: GatewayServer | undefined;
  try {
    await coordinator.prober.sweep();
    let url = '';
    if (target === 'gateway') {
      gateway = new GatewayServer({ coordinator, host: '127.0.0.1', port: 0 });
      url = await gateway.listen();
    }
    const breaker = coordinator.registry.breaker(FAULTY);
    let opened = false;
    const sub = breaker.onDidChangeState((s) => {
      if (s === 'open') opened = true;
    });
    let takenOut = false;
    const sampler = setInterval(() => {
      if (!coordinator.registry.isEligible(FAULTY)) takenOut = true;
    }, 5);
    const injected = hooks.injectAfterMs === undefined ? hooks.inject() : new Promise((r) => setTimeout(r, hooks.injectAfterMs)).then(() => hooks.inject());
    if (hooks.injectAfterMs === undefined) await injected;
    const counts = { attempts: 0, reported: 0 };
    const before = client ? await scrapeMetrics(url) : coordinator.metrics.snapshot();
    let headerFallbacks = 0;
    let streamedCalls = 0;
    const problems: string[] = [];
    const outcomes = await Promise.all(
      Array.from({ length: requests }, async (_, i): Promise<Outcome & { expected: string[] }> => {
        const tier = tierOf(i);
        const prompt = promptOf(i);
        try {
          let o: Outcome;
          if (client) {
            // Every tier gets both: 4 streamed requests, then 4 that ask for one JSON, and so on.
            const stream = Math.floor(i / 4) % 2 === 0;
            if (stream) streamedCalls++;
            const c = await officialClientCall(client, url, tier, prompt, stream);
            if (c.reason.startsWith(`fallback from ${FAULTY}`)) headerFallbacks++;
            problems.push(...c.problems.map((p) => `#${i} (${stream ? 'streamed' : 'whole'}): ${p}`));
            o = { ok: c.ok, text: c.text };
          } else {
            o = target === 'coordinator' ? await viaCoordinator(coordinator, tier, prompt, counts) : await viaGateway(url, tier, prompt);
            if (o.problem) problems.push(`#${i}: ${o.problem}`);
          }
          // The gateway's wire does not say which tier answered after a fallback: any model's complete reply passes there.
          const expected = o.tier !== undefined ? [expectedAnswer(o.tier, prompt)] : ([0, 1, 2] as const).map((t) => expectedAnswer(t, prompt));
          return { ...o, expected };
        } catch (err) {
          problems.push(`#${i}: ${err instanceof Error ? err.message : String(err)}`);
          return { ok: false, text: '', expected: [] as string[] };
        }
      }),
    );
    clearInterval(sampler);
    await injected;
    if (target === 'gateway') {
      // The gateway hides fallbacks from the client (splicing); the coordinator under it counts them.
      // With an official client they are read where an operator would: the gateway's /metrics.
      const after = client ? await scrapeMetrics(url) : coordinator.metrics.snapshot();
      // A busy refusal (503 / 429) is not an error of the node: it is counted apart, as busy.
      const tried = (m: { nodes: Record<string, { errors: number; busy?: number }> }) => (m.nodes[FAULTY]?.errors ?? 0) + (m.nodes[FAULTY]?.busy ?? 0);
      counts.attempts = tried(after) - tried(before);
      counts.reported = after.fallbacks - before.fallbacks;
    }
    const lost = outcomes.filter((o) => !o.ok).length;
    const dupOrTruncated = outcomes.filter((o) => o.ok && !o.expected.includes(o.text)).length;
    outcomes.forEach((o, i) => {
      if (o.ok && !o.expected.includes(o.text)) problems.push(`#${i}: wrong text ${JSON.stringify(o.text.slice(0, 120))}`);
    });

    await hooks.clear();
    const healedAt = Date.now();
    const breakerAtHeal = breaker.state;
    let recovered = false;
    const recovery: RecoveryStep[] = [];
    // Bounded: a node that does not come back within 15 s counts as not recovered.
    for (let i = 0; i < 150 && !recovered; i++) {
      const sweepStart = Date.now();
      const probes = await coordinator.prober.sweep();
      const requestStart = Date.now();
      let answeredBy = 'nobody';
      for await (const e of coordinator.complete({ messages: [{ role: 'user', content: 'recovery probe' }], tier: 1, stickyNode: FAULTY })) {
        if (e.type === 'done') answeredBy = e.node;
      }
      recovered = breaker.state === 'closed' && coordinator.registry.isEligible(FAULTY);
      recovery.push({
        atMs: Date.now() - healedAt,
        sweepMs: requestStart - sweepStart,
        probed: probes.find((p) => p.name === FAULTY)?.state ?? 'not probed',
        requestMs: Date.now() - requestStart,
        answeredBy,
        breakerAfter: breaker.state,
      });
      if (!recovered) await new Promise((r) => setTimeout(r, 100));
    }
    sub.dispose();
    return {
      fault: name,
      target,
      faultyKind,
      client: client ?? (target === 'coordinator' ? 'complete()' : 'fetch'),
      requests,
      lost,
      dupOrTruncated,
      faultyAttempts: counts.attempts,
      fallbacksReported: counts.reported,
      breakerOpened: opened,
      takenOut: takenOut || opened,
      recovered,
      recoverMs: recovered ? Date.now() - healedAt : NaN,
      wallMs: Date.now() - started,
      ...(client && { headerFallbacks, streamedCalls }),
      problems: problems.slice(0, 10),
      breakerAtHeal,
      recovery,
      successThreshold: cluster.config.cluster.circuit_breaker.success_threshold,
    };
  } finally {
    await gateway?.close();
    coordinator.dispose();
    await cluster.stop();
  }
}

/** The two counters the matrix needs, from the gateway's Prometheus `/metrics`. */
async function scrapeMetrics(url: string): Promise<{ fallbacks: number; nodes: Record<string, { errors: number; busy: number }> }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
  const fallbacks = value(/^harombe_fallbacks_total (\d+)$/m);
  // A node that has not failed yet may have no row: that is 0 errors.
  const errors = new RegExp(`^harombe_node_errors_total\\{node="${FAULTY}"\\} (\\d+)$`, 'm').exec(text)?.[1];
  const busy = new RegExp(`^harombe_node_busy_total\\{node="${FAULTY}"\\} (\\d+)$`, 'm').exec(text)?.[1];
  if (Number.isNaN(fallbacks)) throw new Error(`no harombe_fallbacks_total in /metrics:\n${text.slice(0, 500)}`);
  return { fallbacks, nodes: { [FAULTY]: { errors: errors === undefined ? 0 : Number(errors), busy: busy === undefined ? 0 : Number(busy) } } };
}
