import type { ReportedLoad } from './probeResult';

/** A harombe worker's `/load` (or the load fields of its `/health`): `running`, `queued`, `max_parallel`. */
export function workerLoad(body: unknown): ReportedLoad | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as Record<string, unknown>;
  const running = count(b.running);
  const queued = count(b.queued);
  if (running === undefined || queued === undefined) return undefined;
  const maxParallel = count(b.max_parallel);
  return { running, queued, ...(maxParallel !== undefined && maxParallel >= 1 && { maxParallel }) };
}

/**
 * Load from a Prometheus `/metrics` text: vLLM's `vllm:num_requests_running` /
 * `vllm:num_requests_waiting` (docs/design/metrics.md), llama.cpp's `llamacpp:requests_processing`
 * / `llamacpp:requests_deferred` (tools/server/README.md, with `--metrics`). Gauges of several
 * engines (labels) are summed. Undefined when neither server's gauges are there.
 */
export function prometheusLoad(text: string): ReportedLoad | undefined {
  const sums = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+([0-9.eE+-]+)/.exec(line);
    if (!m) continue;
    const value = Number(m[2]);
    if (!Number.isFinite(value)) continue;
    sums.set(m[1] as string, (sums.get(m[1] as string) ?? 0) + value);
  }
  const pairs: [string, string][] = [
    ['vllm:num_requests_running', 'vllm:num_requests_waiting'],
    ['llamacpp:requests_processing', 'llamacpp:requests_deferred'],
  ];
  for (const [run, wait] of pairs) {
    const running = sums.get(run);
    if (running !== undefined) return { running: Math.round(running), queued: Math.round(sums.get(wait) ?? 0) };
  }
  return undefined;
}

/** llama.cpp's `GET /slots`: one entry per slot with `is_processing`; the slot count is its parallelism. */
export function slotsLoad(body: unknown): ReportedLoad | undefined {
  if (!Array.isArray(body) || body.length === 0) return undefined;
  let running = 0;
  for (const s of body) {
    if (typeof s !== 'object' || s === null || typeof (s as { is_processing?: unknown }).is_processing !== 'boolean') return undefined;
    if ((s as { is_processing: boolean }).is_processing) running++;
  }
  // /slots does not show deferred tasks; /metrics does, when the server has it on.
  return { running, queued: 0, maxParallel: body.length };
}

function count(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined;
}
