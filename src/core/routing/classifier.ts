import type { Classification, ClassifyInput, Tier } from './classification';
import { conceptsIn } from './conceptLexicon';
import { ruleFindings, rulesOnly, type RuleFindings } from './rubricRules';
import { modelText, ngramBuckets, reasonKey, ruleSignals, scoreTiers, separatorsIn, type TierWeights } from './tierModel';
import { tierWeightsFile } from './tierWeights';

/*
 * Decides the cheapest tier that will do a prompt well (RUBRIC.md), in two halves:
 * - the rubric's rules (rubricRules.ts): the fixed rules, which take precedence, and text patterns
 *   with human-readable reasons;
 * - a linear model trained on the labelled corpus (scripts/routing/trainClassifier.ts) that weighs
 *   the rules' findings with the prompt's character n-grams, so a design question in Portuguese or
 *   a misspelt refactor reaches the tier the rubric gives it although no pattern names its words.
 * When both agree, the rules' reasons are the answer's; when the model overrides them, the reasons
 * say which words carried it and what the rules alone would have said.
 */

let weights: TierWeights | undefined;

function loadWeights(): TierWeights {
  if (weights) return weights;
  const f = tierWeightsFile;
  if (f.buckets !== 1 << 16) throw new Error(`tierWeights.ts was trained with ${f.buckets} buckets; run npm run train:classifier`);
  const bytes = Buffer.from(f.ngrams, 'base64');
  weights = { bias: f.bias, signals: new Map(Object.entries(f.signals)), scale: f.scale, ngrams: new Int8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)) };
  return weights;
}

interface Decision {
  tier: Tier;
  findings: RuleFindings;
  /** The rules' own tier (fixed floor and text patterns together). */
  rulesTier: Tier;
  modelTier: Tier;
  scores: [number, number, number];
  signals: string[];
  text: string;
}

/** Decides the cheapest tier that will do the prompt well; see RUBRIC.md. */
export function classify(input: ClassifyInput): Classification {
  const findings = ruleFindings(input);
  if (!findings.text) return findings.fixed.result();
  return classification(decide(findings, findings.text));
}

/** One signal's pull: how much it moved the chosen tier's score past the runner-up's. */
export interface Signal {
  signal: string;
  weight: number;
}

export interface Explanation extends Classification {
  decidedBy: 'fixed rules' | 'rules and model agree' | 'model over rules';
  fixedRules: { tier: Tier; reasons: readonly string[] };
  rules: { tier: Tier; reasons: readonly string[] };
  /** The model's probability for each tier (before the fixed rules' floor). */
  model: { tier: Tier; probabilities: [number, number, number] };
  /** The strongest rule signals and words for the chosen tier over the runner-up, strongest first. */
  signals: Signal[];
}

/** `classify`, with every signal that decided it: for `harombe classify --explain`. */
export function explainClassification(input: ClassifyInput): Explanation {
  const findings = ruleFindings(input);
  const fixedRules = { tier: findings.fixed.tier, reasons: findings.fixed.at() };
  if (!findings.text) {
    const { tier, reasons } = findings.fixed.result();
    return { tier, reasons, decidedBy: 'fixed rules', fixedRules, rules: fixedRules, model: { tier, probabilities: [Number.NaN, Number.NaN, Number.NaN] }, signals: [] };
  }
  const d = decide(findings, findings.text);
  const { tier, reasons } = classification(d);
  const w = loadWeights();
  const other = runnerUp(d.scores, d.tier);
  const signals: Signal[] = [];
  for (const name of d.signals) {
    const s = w.signals.get(name);
    if (s) signals.push({ signal: name, weight: round(s[d.tier] - s[other]) });
  }
  for (const [word, weight] of wordPulls(w, d.text, d.tier, other)) signals.push({ signal: `word "${word}"`, weight: round(weight) });
  signals.sort((a, b) => b.weight - a.weight);
  const max = Math.max(...d.scores);
  const exps = d.scores.map((s) => Math.exp(s - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return {
    tier,
    reasons,
    decidedBy: d.tier === d.rulesTier ? (findings.fixed.tier === d.tier && findings.text.tier < d.tier ? 'fixed rules' : 'rules and model agree') : 'model over rules',
    fixedRules,
    rules: { tier: findings.text.tier, reasons: findings.text.at() },
    model: { tier: d.modelTier, probabilities: exps.map((e) => round(e / sum)) as [number, number, number] },
    signals: signals.filter((s) => s.weight !== 0).slice(0, 12),
  };
}

function decide(findings: RuleFindings, text: RuleFindings['fixed']): Decision {
  const floor = findings.fixed.tier;
  const modelInput = modelText(findings.ask);
  const signals = ruleSignals({
    ruleTier: text.tier,
    floorTier: floor,
    reasons: text.at(),
    intent: findings.intent,
    contextChars: findings.contextChars,
    promptChars: findings.prompt.length,
    ascii: isAscii(modelInput),
    separators: separatorsIn(modelInput),
    concepts: conceptsIn(modelInput),
  });
  const scores = scoreTiers(loadWeights(), modelInput, signals);
  const modelTier = argmax(scores);
  const rulesTier = Math.max(floor, text.tier) as Tier;
  return { tier: Math.max(modelTier, floor) as Tier, findings, rulesTier, modelTier, scores, signals, text: modelInput };
}

function classification(d: Decision): Classification {
  const { text } = d.findings;
  if (d.tier === d.rulesTier) return rulesOnly(d.findings);
  // The model overrode the rules: name the words that carried it, and what the rules alone said.
  const words = wordPulls(loadWeights(), d.text, d.tier, runnerUp(d.scores, d.tier))
    .slice(0, 3)
    .map(([word]) => `"${word}"`);
  const rules = text?.at()[0];
  const reasons = [words.length > 0 ? `wording: ${words.join(', ')}` : 'learned from similar prompts'];
  if (rules) reasons.push(`rules alone: tier ${text?.tier ?? 0} (${reasonKey(rules).slice(0, 32)})`);
  return { tier: d.tier, reasons };
}

/**
 * The prompt's words ranked by how far their n-grams pushed `tier` past `other`. A word is the
 * run of non-space characters around an n-gram, cut to 16 characters (scripts without spaces).
 */
function wordPulls(w: TierWeights, text: string, tier: Tier, other: Tier): Array<[string, number]> {
  const pulls = new Map<string, number>();
  const n = ngramBuckets(text, () => undefined);
  const k = n > 0 ? w.scale / Math.sqrt(n) : 0;
  ngramBuckets(text, (bucket, at, length) => {
    const pull = ((w.ngrams[bucket * 3 + tier] as number) - (w.ngrams[bucket * 3 + other] as number)) * k;
    const word = wordAround(text, at, length);
    if (word) pulls.set(word, (pulls.get(word) ?? 0) + pull);
  });
  return [...pulls].filter(([, p]) => p > 0).sort((a, b) => b[1] - a[1]);
}

const SPACE = /\s/;
const PUNCT = /^[\p{P}\p{S}]*$/u;

function wordAround(text: string, at: number, length: number): string | undefined {
  let start = at;
  let end = at + length;
  while (start > 0 && at - start < 12 && !SPACE.test(text[start - 1] as string)) start--;
  while (end < text.length && end - at < 16 && !SPACE.test(text[end] as string)) end++;
  const word = text.slice(start, end).trim();
  // Two letters of a Latin word say little to a reader; two CJK characters are a word.
  return word.length < (word.charCodeAt(0) > 0x2e80 ? 2 : 3) || PUNCT.test(word) ? undefined : word.slice(0, 16);
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

function argmax(s: readonly number[]): Tier {
  let best = 0;
  for (let i = 1; i < s.length; i++) if ((s[i] as number) > (s[best] as number)) best = i;
  return best as Tier;
}

function runnerUp(s: readonly number[], tier: Tier): Tier {
  let best = -1;
  for (let i = 0; i < s.length; i++) if (i !== tier && (best < 0 || (s[i] as number) > (s[best] as number))) best = i;
  return best as Tier;
}

const round = (x: number): number => Math.round(x * 100) / 100;
