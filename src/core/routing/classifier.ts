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
  // A concept is the usual carrier and cheap to name; words only when no concept pulled that way
  // (`--explain` lists both).
  const concept = strongestConcept(w, d.signals, d.tier, other);
  const carried = concept
    ? `concept ${concept}`
    : `words ${wordPulls(w, d.text, d.tier, other)
        .slice(0, 3)
        .map(([word]) => `"${word}"`)
        .join(', ')}`;
  const reasons = [`learned: ${carried}`.slice(0, 60)];
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
 * The prompt's words ranked by how far their n-grams pushed `tier` past `other` (an n-gram counts
 * for the word it starts in). In scripts without spaces (CJK) each pair of characters is a word.
 * Runs whenever the model overrides the rules, so it is one pass over the text, like scoring.
 */
function wordPulls(w: TierWeights, text: string, tier: Tier, other: Tier): Array<[string, number]> {
  const g = w.ngrams;
  const byStart = new Float64Array(text.length);
  const n = ngramBuckets(text, (bucket, at) => {
    byStart[at] = (byStart[at] as number) + (g[bucket * 3 + tier] as number) - (g[bucket * 3 + other] as number);
  });
  const k = n > 0 ? w.scale / Math.sqrt(n) : 0;
  const found: Array<[string, number]> = [];
  let start = -1;
  let sum = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 32;
    if (c >= 0x2e80 && !isBoundary(c)) {
      // A CJK character closes a Latin word and is a two-character word with the next one.
      if (start >= 0 && i - start >= 3) found.push([text.slice(start, i), sum * k]);
      start = -1;
      sum = 0;
      const next = text.charCodeAt(i + 1);
      if (next >= 0x2e80 && !isBoundary(next)) found.push([text.slice(i, i + 2), (byStart[i] as number) * k]);
      continue;
    }
    if (isBoundary(c)) {
      // A Latin word of two letters says little to a reader.
      if (start >= 0 && i - start >= 3) found.push([text.slice(start, Math.min(i, start + 20)), sum * k]);
      start = -1;
      sum = 0;
      // The n-gram starting on a space belongs to the word after it.
      if (i < text.length) sum = byStart[i] as number;
      continue;
    }
    if (start < 0) start = i;
    sum += byStart[i] as number;
  }
  const merged = new Map<string, number>();
  for (const [word, pull] of found) merged.set(word, (merged.get(word) ?? 0) + pull);
  return [...merged].filter(([, p]) => p > 0).sort((a, b) => b[1] - a[1]);
}

/** Spaces, ASCII and CJK punctuation, and the rules' code masks (§ ¶) end a word. */
function isBoundary(c: number): boolean {
  return (
    c < 0x30 ||
    (c >= 0x3a && c <= 0x40) ||
    (c >= 0x5b && c <= 0x60 && c !== 0x5f) ||
    (c >= 0x7b && c <= 0xbf) ||
    (c >= 0x3000 && c <= 0x303f) ||
    (c >= 0xff00 && c <= 0xff20)
  );
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
