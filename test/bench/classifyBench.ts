import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Intent, Tier } from '../../src/core/routing/classification';
import { classify } from '../../src/core/routing/classifier';
import { ruleFindings, rulesOnly } from '../../src/core/routing/rubricRules';
import { readLabelledPrompts, type LabelledPrompt } from '../fixtures/routing/labelledPrompts';

const repoRoot = path.resolve(__dirname, '../..');
// dev.jsonl sits beside the main checkout (../shared) or beside the worktrees (../../shared).
const devFile = [path.resolve(repoRoot, '../shared/routing/dev.jsonl'), path.resolve(repoRoot, '../../shared/routing/dev.jsonl')].find((f) => existsSync(f)) ?? path.resolve(repoRoot, '../shared/routing/dev.jsonl');
const heldoutFile = path.resolve(__dirname, '../fixtures/routing/heldout.jsonl');
/** Never read by training (scripts/routing/trainClassifier.ts): prompts of phrasings it never saw. */
const blindFile = path.resolve(__dirname, '../fixtures/routing/corpusBlind.jsonl');

const WARMUP_ROUNDS = 200;
const TIMED_ROUNDS = 50;

export interface Accuracy {
  right: number;
  total: number;
}

export interface BlindScore {
  prompts: number;
  exact: Accuracy;
  byLanguage: Record<string, Accuracy>;
  byTier: Record<string, Accuracy>;
  /** Tier-2 prompts classified lower. */
  tier2Lower: Accuracy;
  /** `refactor` and `tests` intents on tier 2. */
  intentsOnTier2: Accuracy;
  /** The same split with the rules alone, as before the learned model. */
  rulesOnly: Accuracy;
}

export interface ClassifyBenchResult {
  /** Median time of one classification, in microseconds, over every timed call. */
  medianUs: number;
  p99Us: number;
  /** The rules alone (no model) on the same prompts, timed alongside. */
  rulesMedianUs: number;
  /** Distinct prompts timed. */
  prompts: number;
  /** NaN when dev.jsonl is not beside the checkout. */
  accuracyDev: number;
  accuracyHeldout: number;
  blind: BlindScore;
}

interface BlindRow extends LabelledPrompt {
  lang: string;
}

function readBlind(): BlindRow[] {
  return readFileSync(blindFile, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const r = JSON.parse(l) as { prompt: string; intent: Intent; context_chars: number; tier: Tier; lang: string };
      return { input: { prompt: r.prompt, intent: r.intent, contextChars: r.context_chars }, tier: r.tier, lang: r.lang };
    });
}

/** Times `classify` on the labelled prompts and reports accuracy; figures only, no asserts. */
export async function benchClassify(): Promise<ClassifyBenchResult> {
  const dev = readLabelledPrompts(devFile) ?? [];
  const heldout = readLabelledPrompts(heldoutFile) ?? [];
  const blind = readBlind();
  const all = [...dev, ...heldout, ...blind];

  // Let the JIT settle first, or the first prompts pay for compilation.
  for (let round = 0; round < WARMUP_ROUNDS; round++) for (const row of all) classify(row.input);

  for (let round = 0; round < WARMUP_ROUNDS / 4; round++) for (const row of all) rulesOnly(ruleFindings(row.input));

  // Each call timed on its own, so the median and p99 are per classification, not per batch. The
  // rules alone are timed right after each call on the same prompt: on a loaded machine the two
  // figures move together, and their difference is the model's cost.
  const samples = new Float64Array(all.length * TIMED_ROUNDS);
  const rulesSamples = new Float64Array(all.length * TIMED_ROUNDS);
  let n = 0;
  for (let round = 0; round < TIMED_ROUNDS; round++) {
    for (const row of all) {
      const start = process.hrtime.bigint();
      classify(row.input);
      const mid = process.hrtime.bigint();
      rulesOnly(ruleFindings(row.input));
      rulesSamples[n] = Number(process.hrtime.bigint() - mid) / 1000;
      samples[n++] = Number(mid - start) / 1000;
    }
    // Yield between rounds so a bench run inside a larger harness does not starve the event loop.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  samples.sort();
  rulesSamples.sort();

  return {
    medianUs: round2(quantile(samples, 0.5)),
    rulesMedianUs: round2(quantile(rulesSamples, 0.5)),
    p99Us: round2(quantile(samples, 0.99)),
    prompts: all.length,
    accuracyDev: dev.length > 0 ? round3(accuracy(dev)) : Number.NaN,
    accuracyHeldout: heldout.length > 0 ? round3(accuracy(heldout)) : Number.NaN,
    blind: scoreBlind(blind),
  };
}

function scoreBlind(rows: BlindRow[]): BlindScore {
  const tally = (map: Record<string, Accuracy>, key: string, ok: boolean) => {
    const a = (map[key] ??= { right: 0, total: 0 });
    a.total++;
    if (ok) a.right++;
  };
  const s: BlindScore = { prompts: rows.length, exact: { right: 0, total: 0 }, byLanguage: {}, byTier: {}, tier2Lower: { right: 0, total: 0 }, intentsOnTier2: { right: 0, total: 0 }, rulesOnly: { right: 0, total: 0 } };
  for (const row of rows) {
    const tier = classify(row.input).tier;
    const ok = tier === row.tier;
    s.exact.total++;
    if (ok) s.exact.right++;
    tally(s.byLanguage, row.lang, ok);
    tally(s.byTier, `tier ${row.tier}`, ok);
    if (row.tier === 2) {
      s.tier2Lower.total++;
      if (tier < 2) s.tier2Lower.right++;
    }
    if (row.input.intent === 'refactor' || row.input.intent === 'tests') {
      s.intentsOnTier2.total++;
      if (tier === 2) s.intentsOnTier2.right++;
    }
    s.rulesOnly.total++;
    if (rulesOnly(ruleFindings(row.input)).tier === row.tier) s.rulesOnly.right++;
  }
  return s;
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

/** "95.1 % (195/205)". */
export function percent(a: Accuracy): string {
  return `${((100 * a.right) / Math.max(1, a.total)).toFixed(1)} % (${a.right}/${a.total})`;
}

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
