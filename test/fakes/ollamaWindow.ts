/**
 * How a real Ollama sizes a model's window and what it does with a prompt that does not fit, by
 * version (facts and sources in /work/shared/research/context-window.md §1a).
 */

/** `0.6.7` → [0, 6, 7]; anything unparsable is treated as a current release. */
function parse(version: string): [number, number, number] {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [99, 0, 0];
}

export function versionAtLeast(version: string, min: string): boolean {
  const a = parse(version);
  const b = parse(min);
  for (let i = 0; i < 3; i++) if ((a[i] as number) !== (b[i] as number)) return (a[i] as number) > (b[i] as number);
  return true;
}

/**
 * The window a model runs with when the request sets no `num_ctx`: 2048 up to 0.6.6 (ollama#9545),
 * 4096 from 0.6.7 (ollama#10452), and from 0.15.5 chosen by VRAM (server/routes.go: < 24 GiB 4096,
 * 24-48 GiB 32768, ≥ 48 GiB 262144; thresholds 23 and 47 in the code), always capped at the
 * model's trained maximum (server/sched.go `effectiveContext`).
 */
export function defaultWindow(version: string, vramGiB: number, trainedMax: number): number {
  let n: number;
  if (!versionAtLeast(version, '0.6.7')) n = 2048;
  else if (!versionAtLeast(version, '0.15.5')) n = 4096;
  else n = vramGiB >= 47 ? 262_144 : vramGiB >= 23 ? 32_768 : 4096;
  return Math.min(n, trainedMax);
}

/** The window for a request: its `options.num_ctx`, clamped to the trained maximum (server/sched.go `effectiveContext`), else the default. */
export function requestWindow(options: unknown, version: string, vramGiB: number, trainedMax: number): number {
  const numCtx = typeof options === 'object' && options !== null ? (options as { num_ctx?: unknown }).num_ctx : undefined;
  if (typeof numCtx === 'number' && Number.isInteger(numCtx) && numCtx > 0) return Math.min(numCtx, trainedMax);
  return defaultWindow(version, vramGiB, trainedMax);
}

/** What Ollama does with a prompt of `promptTokens` in `window`. */
export type Overflow =
  | { kind: 'fits' }
  /** 200, and `prompt_eval_count` shows the cut: about half the window (ollama#17427, #3839). */
  | { kind: 'truncated'; promptEvalCount: number }
  /** 400 with this `error` text. */
  | { kind: 'refused'; error: string };

/**
 * `truncate: false` is honoured from 0.12.6 (commit 6544e1473, #12582); older servers ignore it
 * and cut silently. A refusal from 0.30 on is llama-server's own error relayed inside Ollama's
 * `{"error": "…"}` (measured against 0.33, quoted in the research note §1a and ollama#16800);
 * between 0.12.6 and 0.30 the runner was Ollama's own, which refused with the text it uses for an
 * over-long input elsewhere (`the input length exceeds the context length`).
 */
export function overflow(promptTokens: number, window: number, truncate: unknown, version: string): Overflow {
  if (promptTokens <= window) return { kind: 'fits' };
  if (truncate === false && versionAtLeast(version, '0.12.6')) {
    if (!versionAtLeast(version, '0.30.0')) return { kind: 'refused', error: 'the input length exceeds the context length' };
    const inner = {
      error: {
        code: 400,
        message: `request (${promptTokens} tokens) exceeds the available context size (${window} tokens), try increasing it`,
        type: 'exceed_context_size_error',
        n_prompt_tokens: promptTokens,
        n_ctx: window,
      },
    };
    return { kind: 'refused', error: JSON.stringify(inner) };
  }
  // Context shift keeps num_keep tokens and drops the middle down to about half the window.
  return { kind: 'truncated', promptEvalCount: Math.floor(window / 2) + 2 };
}
