import type { Tier } from './classification';
import { concepts } from './conceptLexicon';

/*
 * The learned half of the classifier: a three-class linear model over hashed character n-grams of
 * the prompt plus the rule classifier's findings (its tier, its reasons, the fixed rules' floor).
 * Character n-grams need no word lists, so they carry across languages, scripts without spaces
 * and misspellings; the rule findings carry what the rules already know.
 *
 * The same `ngramBuckets` feeds training (scripts/routing/trainClassifier.ts) and routing, so the
 * two can never hash differently.
 */

/** Hashed n-gram table size (a power of two); the weights file records the one it was trained with. */
export const NGRAM_BUCKETS = 1 << 16;
/** Longer prompts are pasted material: the ask is at the head or the tail. */
const HEAD = 400;
const TAIL = 200;

/** The part of a prompt the model reads, lower-cased. */
export function modelText(prompt: string): string {
  const text = prompt.length > HEAD + TAIL ? `${prompt.slice(0, HEAD)}\n${prompt.slice(-TAIL)}` : prompt;
  return ` ${text.toLowerCase()} `;
}

/**
 * Calls `visit` with the bucket of every 2-, 3- and 4-character n-gram of `text` (and the index
 * where it starts). FNV-1a over UTF-16 code units, then a multiply-shift to spread the high bits.
 */
export function ngramBuckets(text: string, visit: (bucket: number, at: number, length: number) => void): number {
  const mask = NGRAM_BUCKETS - 1;
  let n = 0;
  for (let i = 0; i + 1 < text.length; i++) {
    let h = Math.imul(0x811c9dc5 ^ text.charCodeAt(i), 0x01000193);
    const end = Math.min(text.length, i + 4);
    for (let j = i + 1; j < end; j++) {
      h = Math.imul(h ^ text.charCodeAt(j), 0x01000193);
      visit((Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 16) & mask, i, j - i + 1);
      n++;
    }
  }
  return n;
}

const TIERS = [0, 1, 2] as const;
const RULE_TIER = TIERS.map((t) => `rules say tier ${t}`);
const RULE_TIER_SCRIPT = TIERS.map((t) => [`rules say tier ${t} (non-ascii text)`, `rules say tier ${t} (ascii text)`] as const);
const FLOOR = TIERS.map((t) => `fixed rules floor ${t}`);
const SIZES = ['none', '< 200', '< 1,000', '< 6,000', '6,000-24,000', '> 24,000'];
const CONTEXT = SIZES.map((b) => `context ${b}`);
const PROMPT = SIZES.map((b) => `prompt ${b}`);
const SEPARATORS = [0, 1, 2, 3].map((n) => `${n}+ clause separators`);
const CONCEPT = concepts.map((c) => `concept ${c}`);
const CONCEPT_PAIR = concepts.map((a) => concepts.map((b) => `concepts ${a} + ${b}`));
const intentNames = new Map<string, string>();
const reasonNames = new Map<string, string>();

/**
 * Named, non-text signals: what the rules found, where the prompt came from, how big it is. The
 * names are built once and reused: this runs on every prompt.
 */
export function ruleSignals(f: {
  ruleTier: Tier;
  floorTier: Tier;
  reasons: readonly string[];
  intent: string;
  contextChars: number;
  promptChars: number;
  ascii: boolean;
  /** Commas, semicolons and their CJK forms in the ask: several asks in one prompt, in any language. */
  separators: number;
  /** `conceptsIn` of the ask. */
  concepts: number;
}): string[] {
  let intent = intentNames.get(f.intent);
  if (intent === undefined) intentNames.set(f.intent, (intent = `intent ${f.intent}`));
  const out = [
    RULE_TIER[f.ruleTier] as string,
    RULE_TIER_SCRIPT[f.ruleTier]?.[f.ascii ? 1 : 0] as string,
    FLOOR[f.floorTier] as string,
    intent,
    CONTEXT[sizeBucket(f.contextChars)] as string,
    PROMPT[sizeBucket(f.promptChars)] as string,
    SEPARATORS[Math.min(f.separators, 3)] as string,
  ];
  // Each concept named, and each pair named together (a linear model cannot AND two signals).
  for (let i = 0; i < CONCEPT.length; i++) {
    if ((f.concepts & (1 << i)) === 0) continue;
    out.push(CONCEPT[i] as string);
    for (let j = i + 1; j < CONCEPT.length; j++) if ((f.concepts & (1 << j)) !== 0) out.push(CONCEPT_PAIR[i]?.[j] as string);
  }
  for (const reason of f.reasons) {
    let name = reasonNames.get(reason);
    if (name === undefined) {
      name = `rule: ${reasonKey(reason)}`;
      // Reasons with figures in them are many; keep the memo small.
      if (reasonNames.size < 512) reasonNames.set(reason, name);
    }
    out.push(name);
  }
  return out;
}

function sizeBucket(chars: number): number {
  if (chars === 0) return 0;
  if (chars < 200) return 1;
  if (chars < 1_000) return 2;
  if (chars < 6_000) return 3;
  if (chars <= 24_000) return 4;
  return 5;
}

/** Clause separators in the prompt's first line (a pasted error's punctuation is not an ask's). */
export function separatorsIn(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 && i > 1) break;
    // , ; ， ； 、
    if (c === 44 || c === 59 || c === 0xff0c || c === 0xff1b || c === 0x3001) n++;
  }
  return n;
}

/** A reason without its figures ("3 distinct asks" → "# distinct asks"), so it names one signal. */
export function reasonKey(reason: string): string {
  return reason.replace(/\d[\d,]*/g, '#');
}


export interface TierWeights {
  /** Per-class bias. */
  bias: [number, number, number];
  /** Weights of `ruleSignals` names, per class (a Map: faster than a 1,000-key object). */
  signals: ReadonlyMap<string, readonly [number, number, number]>;
  /** n-gram weights, bucket-major (`bucket * 3 + class`), as int8 times `scale`. */
  ngrams: Int8Array;
  scale: number;
  /** How far the model's score must lead the rules' tier's to override them upward / downward. */
  overrideUp: number;
  overrideDown: number;
}

/**
 * The tier from the model's scores and the rules' tier: the rules stand unless the model is
 * surer than the margin for that direction, and nothing goes below the fixed rules' floor.
 */
export function decideTier(scores: readonly number[], rulesTier: Tier, floor: Tier, overrideUp: number, overrideDown: number): Tier {
  let best = 0;
  for (let i = 1; i < scores.length; i++) if ((scores[i] as number) > (scores[best] as number)) best = i;
  let tier = best as Tier;
  if (tier !== rulesTier) {
    const lead = (scores[tier] as number) - (scores[rulesTier] as number);
    if (lead < (tier > rulesTier ? overrideUp : overrideDown)) tier = rulesTier;
  }
  return Math.max(tier, floor) as Tier;
}

/** Per-class scores (log-odds up to a constant) for a prompt's text and signals. */
export function scoreTiers(weights: TierWeights, text: string, signals: readonly string[]): [number, number, number] {
  const s: [number, number, number] = [weights.bias[0], weights.bias[1], weights.bias[2]];
  for (const name of signals) {
    const w = weights.signals.get(name);
    if (w) {
      s[0] += w[0];
      s[1] += w[1];
      s[2] += w[2];
    }
  }
  const g = weights.ngrams;
  // ngramBuckets inlined: this loop is most of the model's cost.
  const mask = NGRAM_BUCKETS - 1;
  let a = 0;
  let b = 0;
  let c = 0;
  let n = 0;
  for (let i = 0; i + 1 < text.length; i++) {
    let h = Math.imul(0x811c9dc5 ^ text.charCodeAt(i), 0x01000193);
    const end = Math.min(text.length, i + 4);
    for (let j = i + 1; j < end; j++) {
      h = Math.imul(h ^ text.charCodeAt(j), 0x01000193);
      const at = ((Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 16) & mask) * 3;
      a += g[at] as number;
      b += g[at + 1] as number;
      c += g[at + 2] as number;
      n++;
    }
  }
  // Normalised by length, so a long paste weighs no more than a short ask.
  const k = n > 0 ? weights.scale / Math.sqrt(n) : 0;
  s[0] += a * k;
  s[1] += b * k;
  s[2] += c * k;
  return s;
}
