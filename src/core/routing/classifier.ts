import type { Classification, ClassifyInput, Tier } from './classification';
import { conceptsIn } from './conceptLexicon';
import { ruleFindings, rulesOnly, type RuleFindings } from './rubricRules';
import { decideTier, modelText, ngramBuckets, reasonKey, ruleSignals, scoreTiers, separatorsIn, type TierWeights } from './tierModel';
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
  weights = { bias: f.bias, signals: new Map(Object.entries(f.signals)), scale: f.scale, overrideUp: f.overrideUp, overrideDown: f.overrideDown, ngrams: new Int8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)) };
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
  /** The model's probability for each tier (before the fixed rules' floor); absent when the fixed rules decided. */
  model?: { tier: Tier; probabilities: [number, number, number] };
  /** The strongest rule signals and words for the chosen tier over the runner-up, strongest first. */
  signals: Signal[];
}

/** `classify`, with every signal that decided it: for `harombe classify --explain`. */
export function explainClassification(input: ClassifyInput): Explanation {
  const findings = ruleFindings(input);
  const fixedRules = { tier: findings.fixed.tier, reasons: findings.fixed.at() };
  if (!findings.text) {
    const { tier, reasons } = findings.fixed.result();
    return { tier, reasons, decidedBy: 'fixed rules', fixedRules, rules: fixedRules, signals: [] };
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
  const w = loadWeights();
  const scores = scoreTiers(w, modelInput, signals);
  const rulesTier = Math.max(floor, text.tier) as Tier;
  const tier = decideTier(scores, rulesTier, floor, w.overrideUp, w.overrideDown);
  return { tier, findings, rulesTier, modelTier: argmax(scores), scores, signals, text: modelInput };
}

function classification(d: Decision): Classification {
  const { text } = d.findings;
  if (d.tier === d.rulesTier) return rulesOnly(d.findings);
  // The model overrode the rules: name the concepts and words that carried it, and what the rules
  // alone said, so a user who disagrees sees what to reword or which tier to force.
  const w = loadWeights();
  const other = runnerUp(d.scores, d.tier);
  const concept = strongestConcept(w, d.signals, d.tier, other);
  const words = wordPulls(w, d.text, d.tier, other)
    .slice(0, concept ? 2 : 3)
    .map(([word]) => `"${word}"`);
  const carried = [concept, words.length > 0 ? `words ${words.join(', ')}` : undefined].filter((x) => x !== undefined);
  const reasons = [`learned: ${carried.join('; ') || 'similar prompts'}`.slice(0, 60)];
  const rules = text?.at()[0];
  if (rules) reasons.push(`rules alone: tier ${text?.tier ?? 0} (${reasonKey(rules)})`.slice(0, 60));
  return { tier: d.tier, reasons };
}

/** The concept signal that pulled hardest toward `tier`, as "design" or "design + whole". */
function strongestConcept(w: TierWeights, signals: readonly string[], tier: Tier, other: Tier): string | undefined {
  let best: string | undefined;
  let pull = 0;
  for (const name of signals) {
    if (!name.startsWith('concept')) continue;
    const s = w.signals.get(name);
    const p = s ? s[tier] - s[other] : 0;
    if (p > pull) {
      pull = p;
      best = name.replace(/^concepts? /, '');
    }
  }
  return best;
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

const BOUNDARY = /[\s.,;:!?()[\]{}"'`<>=/\\|§¶，。、？！：；（）]/;

/**
 * The word an n-gram belongs to: the run between boundaries around its first non-boundary
 * character; in scripts without spaces (CJK), the n-gram itself.
 */
function wordAround(text: string, at: number, length: number): string | undefined {
  let i = at;
  while (i < at + length && BOUNDARY.test(text[i] as string)) i++;
  if (i >= at + length) return undefined;
  if (text.charCodeAt(i) >= 0x2e80) {
    const gram = text.slice(i, at + length).replace(/[\s\p{P}]+$/u, '');
    return gram.length >= 2 ? gram : undefined;
  }
  let start = i;
  let end = i + 1;
  while (start > 0 && i - start < 16 && !BOUNDARY.test(text[start - 1] as string)) start--;
  while (end < text.length && end - start < 20 && !BOUNDARY.test(text[end] as string)) end++;
  const word = text.slice(start, end);
  // Two letters of a Latin word say little to a reader.
  return word.length >= 3 ? word : undefined;
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
