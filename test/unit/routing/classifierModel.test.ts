import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Intent, Tier } from '../../../src/core/routing/classification';
import { classify, explainClassification } from '../../../src/core/routing/classifier';
import { concepts, conceptsIn } from '../../../src/core/routing/conceptLexicon';
import { decideTier, NGRAM_BUCKETS, ngramBuckets, scoreTiers, type TierWeights } from '../../../src/core/routing/tierModel';
import { tierWeightsFile } from '../../../src/core/routing/tierWeights';

const repoRoot = path.resolve(__dirname, '../../..');
const fixtures = path.join(repoRoot, 'test/fixtures/routing');

interface Row {
  prompt: string;
  intent: Intent;
  context_chars: number;
  tier: Tier;
  lang: string;
  family: string;
  seed: string;
}

const read = (name: string): Row[] =>
  readFileSync(path.join(fixtures, name), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Row);

describe('routing corpus (test/fixtures/routing/corpus*.jsonl)', () => {
  const train = read('corpus.jsonl');
  const blind = read('corpusBlind.jsonl');
  const all = [...train, ...blind];

  it('is at least 2,000 prompts in at least 8 languages, a third or more not English', () => {
    assert.ok(all.length >= 2_000, `${all.length} prompts`);
    const langs = new Set(all.map((r) => r.lang));
    assert.ok(langs.size >= 8, [...langs].join(','));
    const notEnglish = all.filter((r) => r.lang !== 'en').length;
    assert.ok(notEnglish * 3 >= all.length, `${notEnglish} of ${all.length} not English`);
  });

  it('has every code-action intent, pasted errors, and context sizes on both sides of each fixed-rule boundary', () => {
    for (const intent of ['chat', 'explain', 'fix', 'refactor', 'tests', 'docs']) assert.ok(all.some((r) => r.intent === intent), intent);
    assert.ok(all.filter((r) => /Traceback|Exception|error\[E\d+\]|panic:|npm ERR!/.test(r.prompt)).length >= 50);
    for (const context of [5_999, 6_000, 23_999, 24_000, 24_001]) assert.ok(all.some((r) => r.context_chars === context), `context ${context}`);
  });

  it('labels follow the rubric\'s fixed rules', () => {
    for (const r of all) {
      const where = `${r.seed}: ${r.prompt.slice(0, 60)}`;
      if (r.intent === 'refactor' || r.intent === 'tests' || r.context_chars > 24_000) assert.equal(r.tier, 2, where);
      else if (r.context_chars >= 6_000 || r.intent === 'explain' || r.intent === 'fix' || r.intent === 'docs') assert.ok(r.tier >= 1, where);
    }
  });

  it('keeps every copy of a seed phrasing on one side of the blind split', () => {
    const trainSeeds = new Set(train.map((r) => r.seed));
    const shared = blind.filter((r) => trainSeeds.has(r.seed)).map((r) => r.seed);
    assert.deepEqual([...new Set(shared)], []);
    assert.ok(blind.length >= 400, `${blind.length} blind prompts`);
  });
});

describe('the learned model', () => {
  it('scores with the same n-gram hashing the training script uses', () => {
    // Random int8 weights: scoreTiers' inlined loop must visit exactly ngramBuckets' buckets.
    let seed = 7;
    const ngrams = new Int8Array(NGRAM_BUCKETS * 3).map(() => ((seed = (seed * 1_103_515_245 + 12_345) >>> 0) >>> 24) - 128);
    const w: TierWeights = { bias: [0, 0, 0], signals: new Map(), ngrams, scale: 1, overrideUp: 0, overrideDown: 0 };
    for (const text of [' projeta um rate limiter ', ' 重构一下这个模块 ', ' a ', '', ' explain async/await in python ']) {
      const sums = [0, 0, 0];
      const n = ngramBuckets(text, (b) => {
        for (let c = 0; c < 3; c++) sums[c] = (sums[c] as number) + (ngrams[b * 3 + c] as number);
      });
      const want = sums.map((x) => (n > 0 ? x / Math.sqrt(n) : 0));
      const got = scoreTiers(w, text, []);
      for (let c = 0; c < 3; c++) assert.ok(Math.abs((got[c] as number) - (want[c] as number)) < 1e-9, `${text}: ${got} vs ${want}`);
    }
  });

  it('lets the rules stand unless the model leads by the margin, and never goes below the fixed rules', () => {
    assert.equal(decideTier([0, 1, 0], 0, 0, 2, 2), 0, 'a lead of 1 < 2 does not override upward');
    assert.equal(decideTier([0, 3, 0], 0, 0, 2, 2), 1);
    assert.equal(decideTier([3, 0, 0], 2, 0, 0, 4), 2, 'a lead of 3 < 4 does not override downward');
    assert.equal(decideTier([5, 0, 0], 2, 0, 0, 4), 0);
    assert.equal(decideTier([5, 0, 0], 1, 1, 0, 0), 1, 'the fixed rules floor holds');
  });

  it('ships weights that are ASCII, the trained size, and reproducible from the repo by npm run train:classifier', function () {
    this.timeout(120_000);
    const committed = readFileSync(path.join(repoRoot, 'src/core/routing/tierWeights.ts'), 'utf8');
    assert.ok([...committed].every((ch) => ch.charCodeAt(0) < 0x80), 'tierWeights.ts is ASCII');
    assert.equal(tierWeightsFile.buckets, NGRAM_BUCKETS);
    assert.equal(Buffer.from(tierWeightsFile.ngrams, 'base64').length, NGRAM_BUCKETS * 3);
    const dir = mkdtempSync(path.join(tmpdir(), 'harombe-weights-'));
    try {
      const out = path.join(dir, 'tierWeights.ts');
      execFileSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'scripts/routing/trainClassifier.ts'), '--out', out], { cwd: repoRoot, stdio: 'pipe' });
      assert.ok(readFileSync(out, 'utf8') === committed, 'retraining gives the committed weights byte for byte (retrain after changing the corpus or the features)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds a concept named in any of the corpus languages', () => {
    const design = 1 << concepts.indexOf('design');
    for (const text of ['design a rate limiter', 'entwirf einen rate limiter', 'diseña un rate limiter', 'спроектируй rate limiter', '设计一个限流器', 'レートリミッターを設計して', 'rate limiter를 설계해줘']) {
      assert.ok((conceptsIn(text) & design) !== 0, text);
    }
    assert.equal(conceptsIn('how do I reverse a list') & design, 0);
  });

  it('classifies the corpus it was trained on (stale or mis-decoded weights fail here)', () => {
    const rows = read('corpus.jsonl');
    let right = 0;
    const misses: string[] = [];
    for (const r of rows) {
      const c = classify({ prompt: r.prompt, intent: r.intent, contextChars: r.context_chars });
      if (c.tier === r.tier) right++;
      else misses.push(`${r.seed} want ${r.tier} got ${c.tier}: ${r.prompt.slice(0, 60)}`);
    }
    assert.ok(right / rows.length >= 0.97, `${right}/${rows.length}\n${misses.slice(0, 20).join('\n')}`);
  });

  it('sends a design question to tier 2 in every language, with reasons a person can read', () => {
    const prompts = [
      'design a rate limiter for our public api across several instances, with trade-offs',
      'entwirf einen rate limiter für unsere api über mehrere instanzen, mit vor- und nachteilen',
      'diseña un rate limiter para nuestra api con varias instancias, con los trade-offs',
      'projeta um rate limiter pra nossa api com várias instâncias, com os trade-offs',
      'спроектируй rate limiter для нашего api на нескольких инстансах, с компромиссами',
      '为我们的 api 设计一个跨多个实例的限流器，说明权衡',
      '複数インスタンスで動くAPIのレートリミッターを設計して、トレードオフも',
      '여러 인스턴스에서 동작하는 API rate limiter를 설계해줘, 트레이드오프도',
    ];
    for (const prompt of prompts) {
      const c = classify({ prompt });
      assert.equal(c.tier, 2, `${prompt} → ${c.reasons.join('; ')}`);
      assert.ok(c.reasons.length > 0 && c.reasons.every((r) => r.length > 0 && r.length <= 60), c.reasons.join(' | '));
    }
  });

  it('--explain: says what decided, with signals strongest first and model probabilities that sum to 1', () => {
    const fixed = explainClassification({ prompt: 'rename x', intent: 'tests' });
    assert.equal(fixed.decidedBy, 'fixed rules');
    assert.equal(fixed.model, undefined);
    const e = explainClassification({ prompt: 'migra nuestro código de Flask a FastAPI' });
    assert.equal(e.tier, 2);
    assert.ok(e.model);
    assert.ok(Math.abs(e.model.probabilities.reduce((a, b) => a + b, 0) - 1) < 0.02);
    assert.ok(e.signals.length > 0);
    for (let i = 1; i < e.signals.length; i++) assert.ok((e.signals[i - 1]?.weight ?? 0) >= (e.signals[i]?.weight ?? 0));
    assert.deepEqual({ tier: e.tier, reasons: e.reasons }, classify({ prompt: 'migra nuestro código de Flask a FastAPI' }));
  });
});
