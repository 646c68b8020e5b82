import { splitBaseUrl } from '../inference/splitBaseUrl';
import { untilAborted } from '../inference/untilAborted';
import { systemClock, type Clock } from '../util/clock';
import type { Disposable } from '../util/emitter';
import { prometheusLoad, slotsLoad, workerLoad } from './loadReadings';
import type { NodeInfo } from './nodeInfo';
import type { NodeRegistry } from './nodeRegistry';
import type { ReportedLoad } from './probeResult';

export interface LoadPollerOptions {
  /** Between two polls while this coordinator is sending work, ms. */
  activeIntervalMs?: number;
  /** Between two polls while it is idle, ms. */
  idleIntervalMs?: number;
  /** How long after its last dispatch the coordinator counts as active, ms. */
  activeForMs?: number;
  /** Longest one poll may take, ms. */
  timeoutMs?: number;
  clock?: Clock;
}

/** Where a node's load can be read; `none` is tried again after a while (a server may be restarted with `--metrics`). */
type Source = '/load' | '/metrics' | '/slots' | 'none';

const MAX_BODY = 256 * 1024;
const RETRY_NONE_MS = 60_000;

/**
 * Reads every node's own load often while this coordinator has work under way (every 250 ms; llm-d
 * scrapes every 50 ms, the vLLM router's 5 s was too slow, vllm-project/router#177) and seldom when
 * it is idle, and folds each reading into the registry. A harombe worker answers `/load`; an
 * OpenAI-compatible server `/metrics` (vLLM, llama.cpp with `--metrics`) or `/slots` (llama.cpp);
 * plain Ollama reports nothing (ollama/ollama#2004), so it is not asked and stays on the local count.
 */
export class LoadPoller implements Disposable {
  private readonly lifetime = new AbortController();
  private readonly sources = new Map<string, { source: Source; at: number }>();
  private timer: NodeJS.Timeout | undefined;
  private readonly clock: Clock;
  private running = false;

  constructor(
    private readonly registry: NodeRegistry,
    private readonly opts: LoadPollerOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
  }

  start(): void {
    if (this.running || this.lifetime.signal.aborted) return;
    this.running = true;
    void this.loop();
  }

  dispose(): void {
    this.lifetime.abort();
    if (this.timer) clearTimeout(this.timer);
  }

  /** Polls every node that can report once; resolves when all have answered or timed out. */
  async pollOnce(): Promise<void> {
    await Promise.all(this.registry.list().map((n) => this.poll(n)));
  }

  private async loop(): Promise<void> {
    if (this.lifetime.signal.aborted) return;
    await this.pollOnce().catch(() => undefined);
    if (this.lifetime.signal.aborted) return;
    const last = this.registry.lastDispatchAt;
    const active = last !== undefined && this.clock.now() - last < (this.opts.activeForMs ?? 10_000);
    this.timer = setTimeout(() => void this.loop(), active ? (this.opts.activeIntervalMs ?? 250) : (this.opts.idleIntervalMs ?? 2_000));
    this.timer.unref?.();
  }

  private async poll(node: NodeInfo): Promise<void> {
    if (node.kind === 'ollama' || node.state === 'unavailable') return;
    const known = this.sources.get(node.name);
    if (known?.source === 'none' && this.clock.now() - known.at < RETRY_NONE_MS) return;
    const order: Exclude<Source, 'none'>[] = known && known.source !== 'none' ? [known.source] : node.kind === 'harombe' ? ['/load'] : ['/metrics', '/slots'];
    for (const source of order) {
      const at = this.clock.now();
      const reading = await this.read(node.name, source).catch(() => undefined);
      if (this.lifetime.signal.aborted) return;
      if (reading) {
        this.sources.set(node.name, { source, at });
        // Taken as of when it was asked: dispatches after that are added on top by the registry.
        this.registry.applyLoad(node.name, reading, at);
        return;
      }
    }
    // A known source that stopped answering is looked for again from the start next time.
    this.sources.set(node.name, known && known.source !== 'none' ? { source: 'none', at: 0 } : { source: 'none', at: this.clock.now() });
  }

  private async read(name: string, source: Exclude<Source, 'none'>): Promise<ReportedLoad | undefined> {
    if (!this.registry.has(name)) return undefined;
    const endpoint = this.registry.endpoint(name);
    const url = splitBaseUrl(endpoint.baseUrl);
    const signal = AbortSignal.any([AbortSignal.timeout(this.opts.timeoutMs ?? 1000), this.lifetime.signal]);
    const res = await untilAborted(
      this.registry.dispatcher(name).request({
        origin: url.origin,
        path: url.pathPrefix + source,
        method: 'GET',
        signal,
        headers: { ...(endpoint.token && { authorization: `Bearer ${endpoint.token}` }) },
      }),
      signal,
    );
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY) {
        res.body.destroy();
        return undefined;
      }
      chunks.push(chunk as Buffer);
    }
    if (res.statusCode !== 200) return undefined;
    const text = Buffer.concat(chunks).toString('utf8');
    if (source === '/metrics') return prometheusLoad(text);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return undefined;
    }
    return source === '/load' ? workerLoad(json) : slotsLoad(json);
  }
}
