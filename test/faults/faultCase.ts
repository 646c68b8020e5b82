import type { ChatEvent } from '../../src/core/chatEvent';
import { Coordinator } from '../../src/core/coordinator';
import { GatewayServer } from '../../src/core/gateway/gatewayServer';
import { fakeReply } from '../fakes/fakeReply';
import { startFakeCluster, type FakeCluster } from '../fakes/fakeCluster';
import type { Fault } from '../fakes/fault';

export type FaultTarget = 'coordinator' | 'gateway';

/** One row of docs/reliability.md. */
export interface FaultResult {
  fault: string;
  target: FaultTarget;
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
}

const MODELS = ['qwen2.5:3b', 'qwen2.5:14b', 'qwen2.5:72b'] as const;
export const FAULTY = 't1a';
const promptOf = (i: number) => `fault matrix request ${i}`;
export const expectedAnswer = (tier: 0 | 1 | 2, prompt: string) => fakeReply(undefined, [{ role: 'user', content: prompt }], MODELS[tier]);

/** Half of the load goes to tier 1, the busiest tier, where the faulty node lives. */
export const tierOf = (i: number): 0 | 1 | 2 => (i % 4 === 0 ? 0 : i % 4 === 2 ? 2 : 1);

/** Three tiers, two nodes each with the same model, so the gateway's splice policy can continue a stream. */
export async function startMatrixCluster(stallSeconds = 0.5): Promise<FakeCluster> {
  return startFakeCluster(
    ([0, 1, 2] as const).flatMap((tier) =>
      ['a', 'b'].map((s) => ({ name: `t${tier}${s}`, tier, model: MODELS[tier], options: { chunkDelayMs: 1 } })),
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
}

async function viaCoordinator(coordinator: Coordinator, tier: 0 | 1 | 2, prompt: string, counts: { attempts: number; reported: number }): Promise<Outcome> {
  let text = '';
  let done = 0;
  let failed = false;
  let answeredTier: 0 | 1 | 2 | undefined;
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
    if (e.type === 'error') failed = true;
  }
  return { ok: done === 1 && !failed, text, tier: answeredTier };
}

async function viaGateway(url: string, tier: 0 | 1 | 2, prompt: string): Promise<Outcome> {
  const res = await fetch(`${url}/api/chat`, {
    method: 'POST',
    body: JSON.stringify({ model: `harombe:tier${tier}`, messages: [{ role: 'user', content: prompt }] }),
  });
  const body = await res.text();
  if (res.status !== 200) return { ok: false, text: '' };
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
  return { ok: done === 1 && !error, text };
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
export async function runFaultCase(name: string, fault: Fault | FaultHooks, target: FaultTarget, requests: number, stallSeconds = 0.5): Promise<FaultResult> {
  const started = Date.now();
  const cluster = await startMatrixCluster(stallSeconds);
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
    const before = coordinator.metrics.snapshot();
    const outcomes = await Promise.all(
      Array.from({ length: requests }, async (_, i) => {
        const tier = tierOf(i);
        const prompt = promptOf(i);
        try {
          const o = target === 'coordinator' ? await viaCoordinator(coordinator, tier, prompt, counts) : await viaGateway(url, tier, prompt);
          // The gateway's NDJSON does not say which tier answered after a fallback: any model's complete reply passes there.
          const expected = o.tier !== undefined ? [expectedAnswer(o.tier, prompt)] : ([0, 1, 2] as const).map((t) => expectedAnswer(t, prompt));
          return { ...o, expected };
        } catch {
          return { ok: false, text: '', expected: [] as string[] };
        }
      }),
    );
    clearInterval(sampler);
    await injected;
    if (target === 'gateway') {
      // The gateway hides fallbacks from the client (splicing); the coordinator under it counts them.
      const after = coordinator.metrics.snapshot();
      counts.attempts = (after.nodes[FAULTY]?.errors ?? 0) - (before.nodes[FAULTY]?.errors ?? 0);
      counts.reported = after.fallbacks - before.fallbacks;
    }
    const lost = outcomes.filter((o) => !o.ok).length;
    const dupOrTruncated = outcomes.filter((o) => o.ok && !o.expected.includes(o.text)).length;

    await hooks.clear();
    const healedAt = Date.now();
    let recovered = false;
    // Bounded: a node that does not come back within 15 s counts as not recovered.
    for (let i = 0; i < 150 && !recovered; i++) {
      await coordinator.prober.sweep();
      for await (const _ of coordinator.complete({ messages: [{ role: 'user', content: 'recovery probe' }], tier: 1, stickyNode: FAULTY })) void _;
      recovered = breaker.state === 'closed' && coordinator.registry.isEligible(FAULTY);
      if (!recovered) await new Promise((r) => setTimeout(r, 100));
    }
    sub.dispose();
    return {
      fault: name,
      target,
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
    };
  } finally {
    await gateway?.close();
    coordinator.dispose();
    await cluster.stop();
  }
}
