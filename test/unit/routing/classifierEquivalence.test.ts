import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Classification, ClassifyInput, Intent } from '../../../src/core/routing/classification';
import { ruleFindings, rulesOnly } from '../../../src/core/routing/rubricRules';
import { readLabelledPrompts } from '../../fixtures/routing/labelledPrompts';
import { classifyReference } from './classifierReference';

/*
 * The rules' per-call cost was cut with prefilters and shared sub-results. Those must never change
 * an answer, so every result of the rules (rubricRules.ts) is compared in full (tier and every
 * reason, in order) against a frozen copy of them taken before that work.
 *
 * Since issue 19, `classify` also weighs the rules' findings with a learned model and overrides
 * them on purpose (classifier.ts), so this compares the rules alone, not `classify`; the model's
 * decisions are checked against the labelled corpus in classifierModel.test.ts.
 */

const rules = (input: ClassifyInput): Classification => rulesOnly(ruleFindings(input));

const repoRoot = path.resolve(__dirname, '../../..');
const devFile = path.resolve(repoRoot, '../shared/routing/dev.jsonl');
const fixtures = path.resolve(repoRoot, 'test/fixtures/routing');
const labelledFiles = [devFile, ...['heldout', 'adversarial', 'blind', 'blind2', 'blind3'].map((n) => path.join(fixtures, `${n}.jsonl`))];

const MUTATIONS = 8_000;
const SEED = 0x5eed_c1a5;

/** Small, fast, seeded PRNG (mulberry32): the same mutations on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const referenceSource = readFileSync(path.join(__dirname, 'classifierReference.ts'), 'utf8');
const patternSource = referenceSource.slice(referenceSource.indexOf('const CS ='), referenceSource.indexOf('} as const;'));

/**
 * Spellings of regex text with its optional parts and letter classes both ways: `analy[sz]e` gives
 * `analyse` and `analyze`, `re-?design` gives `re-design` and `redesign`.
 */
function spellings(source: string): string[] {
  const keep = source
    .replace(/\[(\p{L})[^\]]*\]/gu, '$1')
    .replace(/\(\?:([^()|]*)\)\?/g, '$1')
    .replace(/([\p{L}' -])\?/gu, '$1');
  const drop = source
    .replace(/\[[^\]]*(\p{L})\]/gu, '$1')
    .replace(/\(\?:[^()|]*\)\?/g, '')
    .replace(/[\p{L}' -]\?/gu, '');
  return [source, keep, drop];
}

const words = (source: string): string[] => source.match(/\p{L}[\p{L}'-]*(?: \p{L}[\p{L}'-]*){0,3}/gu) ?? [];

/**
 * Every word and short phrase spelled out in the reference's patterns (verbs, objects, markers,
 * other-language words), so mutations reach each alternative, including ones no labelled prompt uses.
 */
function patternVocabulary(): string[] {
  return [...new Set(spellings(patternSource).flatMap(words))];
}

/** The verbs right after CS in the reference's clause patterns, where the prefilters act. */
function clauseVerbs(): string[] {
  // The group right after CS, and the innermost groups just after it (`(?:(?:design|…)…|…)`).
  const afterCs = [...patternSource.matchAll(/CS \+\s*String\.raw`|\$\{CS\}/g)].map((m) => patternSource.slice(m.index, m.index + 1_500));
  const groups = afterCs.flatMap((text) => [
    /\(\?:((?:[^()]|\([^()]*\))*)\)/.exec(text)?.[1] ?? '',
    ...[...text.slice(0, 400).matchAll(/\(\?:([^()]*)\)/g)].map((m) => m[1] ?? ''),
  ]);
  const verbs = groups.flatMap((group) => spellings(group).flatMap((spelling) => spelling.split('|')));
  return [...new Set(verbs.filter((verb) => /^[a-z][a-z' -]*$/.test(verb)))];
}

// Places an ask can start, and things that follow a verb, as the patterns expect them.
const CLAUSE_STARTS = [
  '', '', ' ', '. ', ', ', '; ', ': ', '! ', '? ', '\n', '\n\n', '(', '1. ', '2) ', 'b) ', '- ', '* ', '• ',
  'and ', 'and to ', 'then ', 'also ', 'please ', 'pls ', 'now ', 'first ', 'finally ', "let's ", 'me ',
  'can you ', 'could u please ', 'will you to ', 'i want to ', 'we need to ', 'trying to ',
];
const OBJECTS = [
  // Deictic objects, and the moves and changes made to them.
  ' this', ' these', ' it', ' the code', ' my function', ' our service', ' everything', ' § ',
  ' up this', ' out this helper', ' up the handler', ' out of the class', ' the parser out of this class',
  ' the config from the module', ' this into smaller functions', ' it into reusable helpers',
  ' this component to hooks', ' to async', ' instead', ' x to y', ' `foo` to `bar`', ' the query to an orm call',
  // Translations, with and without a big object.
  ' it to rust', ' this to go', ' to go', ' into c++', ' in typescript', ' the service into python',
  ' my code to kotlin', ' from express to koa',
  // Scope: whole apps, several modules, designs.
  ' the app', ' the whole module', ' all the modules', ' a web app', ' an api', ' a script',
  ' me a function that sorts', ' a function that parses csv', ' across the api, the frontend and the db',
  ' across all services', ' the architecture', ' the design', ' a rollout plan', ' a migration plan',
  ' the data model for orders',
  // Other asks and their size.
  ' for security issues', ' with unit tests', ' the trade-offs', ' in depth', ' in one sentence', ' briefly',
  ' why?', '?',
];
const PUNCTUATION = ['.', ',', ';', ':', '!', '?', '？', '\n', '(', ')', '`', '-', '*', '•', '§', '¶', ' ', '  ', '\t', '¿', '。'];
const CODE = [
  '\n```ts\nconst x = items.map((i) => i.id);\nreturn x;\n```\n',
  '\n```\n' + 'def f(x):\n    return x * 2\n'.repeat(20) + '```\n',
  ' `a ??= []` ',
  ' `x => x * 2` ',
  '\n    at render (App.tsx:10:5)\n',
  "\nTypeError: Cannot read properties of null (reading 'id')\n",
  '\nfor (let i = 0; i < n; i++) {\n  total += i;\n}\n',
  '\n\tindented tab line\n',
  'error[E0382]: borrow of moved value',
  ' ^[a-z]+\\d{2,4}$ ',
];
// Error words inside and at the edge of words, where `\b` and `[a-z]*` decide.
const ERRORISH = [
  ' typeerror: ', ' RuntimeException ', ' x_error: ', ' 1error: ', ' myerror', ' an error (', ' IOError',
  ' NullPointerException:', ' error: ', 'exception(', ' errors: ', 'error[e0502]: ', ' ts2345 ', ' panic: ',
];
const FOREIGN = [
  'umschreiben', 'konvertieren', 'schreibe tests', 'erkläre', 'warum', 'diese ', 'explícame', 'por qué',
  'escribe pruebas', 'refactoriza', '¿cómo ', 'este ', 'pourquoi', 'réécris', 'cette ', 'почему', 'объясни',
  'напиши тесты', 'перепиши', 'чому', '重构', '为什么', '解释', '写测试', '什么意思', 'テストを書いて', 'リファクタ',
];
const DISMISSALS = [
  'anyway, ', 'anyways. ', 'not really asking about that: ', 'long story short ', 'my actual question: ',
  'all i need is ', 'i just want ',
];
const FILLER =
  'Our team runs several services; we refactor legacy code, migrate modules, review every PR, write tests and design systems, ' +
  'then deploy, monitor and document it. The 12 services talk over queues.';

interface Vocabulary {
  words: readonly string[];
  verbs: readonly string[];
}

function mutate(base: string, corpus: readonly string[], vocabulary: Vocabulary, rand: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const at = (s: string): number => {
    const i = Math.floor(rand() * (s.length + 1));
    // Half the time snap to a word start, where clause patterns look.
    if (rand() < 0.5) {
      const space = s.lastIndexOf(' ', i);
      return space < 0 ? 0 : space + 1;
    }
    return i;
  };
  const splice = (s: string, piece: string): string => {
    const i = at(s);
    return s.slice(0, i) + piece + s.slice(i);
  };

  let text = base;
  const steps = 1 + Math.floor(rand() * 4);
  for (let step = 0; step < steps; step++) {
    const op = Math.floor(rand() * 13);
    switch (op) {
      case 0:
      case 1:
        text = splice(text, pick(CLAUSE_STARTS) + pick(vocabulary.verbs) + (rand() < 0.7 ? pick(OBJECTS) : ' ' + pick(vocabulary.words)) + ' ');
        break;
      case 2:
        text = splice(text, pick(CLAUSE_STARTS) + pick(vocabulary.words) + (rand() < 0.6 ? pick(OBJECTS) : ' ' + pick(vocabulary.words)) + ' ');
        break;
      case 3:
        text = splice(text, pick(PUNCTUATION));
        break;
      case 4:
        text = splice(text, pick(CODE));
        break;
      case 5:
        text = splice(text, ' ' + pick(FOREIGN) + ' ');
        break;
      case 12:
        text = splice(text, pick(ERRORISH));
        break;
      case 6: {
        const i = at(text);
        const j = Math.min(text.length, i + 1 + Math.floor(rand() * 40));
        text = rand() < 0.2 ? text.toUpperCase() : text.slice(0, i) + text.slice(i, j).toUpperCase() + text.slice(j);
        break;
      }
      case 7: {
        const i = at(text);
        text = text.slice(0, i) + text.slice(i + 1 + Math.floor(rand() * 20));
        break;
      }
      case 8:
        text = rand() < 0.5 ? `${text}${pick(['\n\n', ' ', '. ', '\n'])}${pick(corpus)}` : `${pick(corpus)}${pick(['\n\n', ' ', '\n'])}${text}`;
        break;
      case 9: {
        // Past the focus, ask-part and windowing thresholds: 160, 1,200, 2×2,000, 6,000, 24,000 chars.
        const target = pick([170, 700, 1_300, 2_100, 4_100, 6_100, 25_000]);
        const paragraphs: string[] = [];
        let length = 0;
        while (length < target) {
          const paragraph = rand() < 0.5 ? FILLER : pick(corpus);
          paragraphs.push(paragraph);
          length += paragraph.length + 2;
        }
        const material = paragraphs.join(pick(['\n\n', '\n', ' ', '\n \n']));
        const shape = Math.floor(rand() * 4);
        if (shape === 0) text = `${text}:\n\n${material}`;
        else if (shape === 1) text = `${material}\n\n${text}`;
        else if (shape === 2) text = `${material} ${pick(DISMISSALS)}${text}`;
        else text = `${text}\n\n${material}\n\n${pick(['what do you make of the above?', 'summarize the above', text])}`;
        break;
      }
      case 10:
        text = pick(['hi ', 'hey, ', 'ok so ', 'what is ', 'how do i ', 'how would you ', 'why does ', 'can you ', 'tests ', 'python: how to ', 'thanks! ']) + text;
        break;
      default:
        text = splice(text, pick(vocabulary.words));
    }
  }
  return text;
}

describe('the rules alone equal the frozen reference classifier', () => {
  const labelled = labelledFiles.flatMap((file) => readLabelledPrompts(file) ?? []);
  const corpus = labelled.map((row) => row.input.prompt);

  const check = (inputs: Iterable<ClassifyInput>): number => {
    const wrong: string[] = [];
    let n = 0;
    for (const input of inputs) {
      n++;
      const want: Classification = classifyReference(input);
      const got = rules(input);
      try {
        assert.deepEqual(got, want);
      } catch {
        wrong.push(`${JSON.stringify(input).slice(0, 300)}\n    want ${JSON.stringify(want)}\n    got  ${JSON.stringify(got)}`);
      }
    }
    assert.equal(wrong.length, 0, `${wrong.length} of ${n} differ:\n${wrong.slice(0, 8).join('\n')}`);
    return n;
  };

  it('on every labelled prompt, with each intent and context size', () => {
    assert.ok(labelled.length >= 300, `labelled prompts found: ${labelled.length}`);
    const intents: Intent[] = ['chat', 'explain', 'fix', 'docs', 'refactor', 'tests'];
    const inputs: ClassifyInput[] = labelled.map((row) => row.input);
    for (const prompt of corpus) {
      for (const contextChars of [0, 700, 1_500, 8_000, 30_000]) inputs.push({ prompt, contextChars });
      for (const intent of intents) inputs.push({ prompt, intent, contextChars: 1_500 });
      inputs.push({ prompt });
    }
    check(inputs);
  });

  it(`on ${MUTATIONS} seeded mutations of them`, function () {
    this.timeout(20_000);
    const vocabulary = { words: patternVocabulary(), verbs: clauseVerbs() };
    assert.ok(vocabulary.words.length > 500, `pattern vocabulary: ${vocabulary.words.length} words`);
    assert.ok(vocabulary.verbs.length > 150, `clause verbs: ${vocabulary.verbs.length}`);
    const rand = prng(SEED);
    const contexts = [0, 0, 0, 0, 1, 300, 1_999, 2_000, 4_000, 5_999, 6_000, 24_000, 24_001];
    const intents: Intent[] = ['chat', 'chat', 'chat', 'chat', 'chat', 'explain', 'fix', 'docs', 'refactor', 'tests'];
    function* inputs(): Generator<ClassifyInput> {
      for (let i = 0; i < MUTATIONS; i++) {
        const base = corpus[Math.floor(rand() * corpus.length)] ?? '';
        const prompt = mutate(base, corpus, vocabulary, rand);
        yield {
          prompt,
          intent: intents[Math.floor(rand() * intents.length)] ?? 'chat',
          contextChars: contexts[Math.floor(rand() * contexts.length)] ?? 0,
        };
      }
    }
    assert.equal(check(inputs()), MUTATIONS);
  });

  it('on every clause verb, after each clause start, before each object', () => {
    const verbs = clauseVerbs();
    const inputs: ClassifyInput[] = [];
    verbs.forEach((verb, i) => {
      OBJECTS.forEach((object, j) => {
        const start = CLAUSE_STARTS[(i + j) % CLAUSE_STARTS.length] ?? '';
        inputs.push({ prompt: `${start}${verb}${object}`, contextChars: (i + j) % 3 === 0 ? 1_500 : 0 });
      });
    });
    assert.ok(check(inputs) > 10_000);
  });

  it('on pathological input', () => {
    const bodies = [
      '',
      ' ',
      'a'.repeat(5_000),
      'write '.repeat(1_000),
      'across the '.repeat(600),
      '1) '.repeat(2_000),
      ('```\n' + 'x = 1;\n'.repeat(50)).repeat(12),
      'what does `'.repeat(600),
      'split this into '.repeat(400),
      'why is this slow, and can you refactor it? '.repeat(600),
    ];
    check(bodies.flatMap((prompt) => [{ prompt }, { prompt, contextChars: 1_000 }]));
  });
});
