import path from 'node:path';
import { classify } from '../../src/core/routing/classifier';
import { readLabelledPrompts, type LabelledPrompt } from '../fixtures/routing/labelledPrompts';

const devFile = path.resolve(__dirname, '../../../shared/routing/dev.jsonl');
const heldoutFile = path.resolve(__dirname, '../fixtures/routing/heldout.jsonl');

const WARMUP_ROUNDS = 200;
const TIMED_ROUNDS = 50;

export interface ClassifyBenchResult {
  /** Median time of one classification, in microseconds, over every timed call. */
  medianUs: number;
  p99Us: number;
  /** Distinct prompts timed. */
  prompts: number;
  /** NaN when dev.jsonl is not beside the checkout. */
  accuracyDev: number;
  accuracyHeldout: number;
}

/** Times `classify` on the labelled prompts and reports accuracy; figures only, no asserts. */
export async function benchClassify(): Promise<ClassifyBenchResult> {
  const dev = readLabelledPrompts(devFile) ?? [];
  const heldout = readLabelledPrompts(heldoutFile) ?? [];
  const all = [...dev, ...heldout];

  // Let the JIT settle first, or the first prompts pay for compilation.
  for (let round = 0; round < WARMUP_ROUNDS; round++) for (const row of all) classify(row.input);

  // Each call timed on its own, so the median and p99 are per classification, not per batch.
  const samples = new Float64Array(all.length * TIMED_ROUNDS);
  let n = 0;
  for (let round = 0; round < TIMED_ROUNDS; round++) {
    for (const row of all) {
      const start = process.hrtime.bigint();
      classify(row.input);
      samples[n++] = Number(process.hrtime.bigint() - start) / 1000;
    }
    // Yield between rounds so a bench run inside a larger harness does not starve the event loop.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  samples.sort();

  return {
    medianUs: round2(quantile(samples, 0.5)),
    p99Us: round2(quantile(samples, 0.99)),
    prompts: all.length,
    accuracyDev: dev.length > 0 ? round3(accuracy(dev)) : Number.NaN,
    accuracyHeldout: heldout.length > 0 ? round3(accuracy(heldout)) : Number.NaN,
  };
}

function accuracy(rows: LabelledPrompt[]): number {
  let right = 0;
  for (const row of rows) if (classify(row.input).tier === row.tier) right++;
  return right / rows.length;
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;
const round3 = (x: number): number => Math.round(x * 1000) / 1000;

if (require.main === module) {
  benchClassify().then(
    (result) => {
      console.log(JSON.stringify(result, null, 2));
      if (Number.isNaN(result.accuracyDev)) console.log(`(dev set not found at ${devFile})`);
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
