/**
 * `npm run corpus:routing`: writes the routing corpus (test/fixtures/routing/corpus.jsonl) and its
 * blind split (corpusBlind.jsonl) from the seed prompts in corpusSeeds*.ts. Deterministic: the same
 * seeds give byte-identical files.
 *
 * A seed is a prompt as a user would type it; each is copied with different slot values, and some
 * copies are made terse or misspelt the way people type in a hurry. The blind split holds out
 * whole seeds (every copy of one phrasing), so it measures wording the classifier never saw, not
 * new slot values in a phrasing it did.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pastedErrors } from './corpusErrors';
import { seedsEnglish } from './corpusSeedsA';
import { seedsFrench, seedsGerman, seedsPortuguese, seedsSpanish } from './corpusSeedsB';
import { seedsChinese, seedsJapanese, seedsKorean, seedsRussian, seedsUkrainian } from './corpusSeedsC';
import { moreChinese, moreEnglish, moreFrench, moreGerman, moreJapanese, moreKorean, morePortuguese, moreRussian, moreSpanish, moreUkrainian } from './corpusSeedsD';
import { extraEnglish, extraFrench, extraGerman, extraPortuguese, extraSpanish } from './corpusSeedsE';
import { extraChinese, extraJapanese, extraKorean, extraRussian, extraUkrainian } from './corpusSeedsF';
import { families, type Family, type SeedTable } from './corpusTypes';
import { prng } from './prng';

export interface CorpusRow {
  prompt: string;
  intent: 'chat' | 'explain' | 'fix' | 'refactor' | 'tests' | 'docs';
  context_chars: number;
  tier: 0 | 1 | 2;
  lang: string;
  family: string;
  /** The seed this row was copied from: rows of one seed are never split between train and blind. */
  seed: string;
}

/** Both seed tables of a language, family by family. */
function merge(a: SeedTable, b: SeedTable): SeedTable {
  const out: SeedTable = { ...a };
  for (const [family, seeds] of Object.entries(b) as Array<[Family, string[]]>) out[family] = [...(out[family] ?? []), ...seeds];
  return out;
}

const tables: Record<string, SeedTable> = {
  en: merge(merge(seedsEnglish, moreEnglish), extraEnglish),
  de: merge(merge(seedsGerman, moreGerman), extraGerman),
  es: merge(merge(seedsSpanish, moreSpanish), extraSpanish),
  pt: merge(merge(seedsPortuguese, morePortuguese), extraPortuguese),
  fr: merge(merge(seedsFrench, moreFrench), extraFrench),
  ru: merge(merge(seedsRussian, moreRussian), extraRussian),
  uk: merge(merge(seedsUkrainian, moreUkrainian), extraUkrainian),
  zh: merge(merge(seedsChinese, moreChinese), extraChinese),
  ja: merge(merge(seedsJapanese, moreJapanese), extraJapanese),
  ko: merge(merge(seedsKorean, moreKorean), extraKorean),
};

/** Lookups in an attached file: tier 0 while the context is short, then the fixed rules decide. */
const lookups: Record<string, string[]> = {
  en: ['what language is this file written in?', 'which line sets the port here', 'does this file import lodash?'],
  de: ['in welcher sprache ist diese datei geschrieben?', 'in welcher zeile wird hier der port gesetzt'],
  es: ['¿en qué lenguaje está escrito este archivo?', 'en qué línea se define el puerto aquí'],
  pt: ['em que linguagem esse arquivo está escrito?', 'em qual linha a porta é definida aqui'],
  fr: ['ce fichier est écrit dans quel langage ?', 'à quelle ligne le port est défini ici'],
  ru: ['на каком языке написан этот файл?', 'в какой строке тут задаётся порт'],
  uk: ['якою мовою написаний цей файл?', 'в якому рядку тут задається порт'],
  zh: ['这个文件是用什么语言写的？', '这里端口是在哪一行设置的'],
  ja: ['このファイルは何の言語で書かれてる？', 'ここでポートを設定しているのは何行目？'],
  ko: ['이 파일은 무슨 언어로 작성됐어?', '여기서 포트 설정하는 게 몇 번째 줄이야?'],
};

/** A question about a pasted document (tier 1: reasoning over one document), before or after it. */
const material: Record<string, string[]> = {
  en: ['{doc}\n\nwhat is the main point of the above?', 'tl;dr this for me:\n\n{doc}', '{doc}\n\ndoes this argument hold up?'],
  de: ['{doc}\n\nwas ist die kernaussage davon?', 'fass das kurz zusammen:\n\n{doc}'],
  es: ['{doc}\n\n¿cuál es la idea principal de esto?', 'resúmeme esto:\n\n{doc}'],
  pt: ['{doc}\n\nqual é a ideia principal disso?', 'resume isso pra mim:\n\n{doc}'],
  fr: ['{doc}\n\nc\'est quoi l\'idée principale ?', 'résume-moi ça :\n\n{doc}'],
  ru: ['{doc}\n\nв чём тут основная мысль?', 'перескажи коротко:\n\n{doc}'],
  uk: ['{doc}\n\nяка тут головна думка?', 'перекажи коротко:\n\n{doc}'],
  zh: ['{doc}\n\n上面这段的核心观点是什么？', '帮我总结一下：\n\n{doc}'],
  ja: ['{doc}\n\n上の文章の要点は何？', 'これを要約して：\n\n{doc}'],
  ko: ['{doc}\n\n위 글의 핵심이 뭐야?', '이거 요약해줘:\n\n{doc}'],
};

const documents: readonly string[] = [
  'Incident 2024-03: the payments service returned 502s for 14 minutes. The cause was a connection pool exhausted after a deploy doubled the number of workers per pod while the database kept its limit of 100 connections. Retries from the mobile clients amplified the load. We rolled back, raised the limit and added pool metrics to the dashboard.',
  'Our proposal is to keep one repository per team and publish shared code as versioned packages. Teams release on their own schedule; a breaking change in a shared package needs a major version and a migration note. The cost is slower propagation of fixes, which we accept for fewer cross-team merge conflicts.',
  'Die neue Suchfunktion indexiert Dokumente nachts und beantwortet Anfragen aus dem Index. Änderungen tagsüber erscheinen erst am nächsten Morgen. Für die meisten Nutzer reicht das; das Support-Team braucht aber aktuelle Treffer und soll deshalb direkt in der Datenbank suchen.',
];

const slots: Record<string, readonly string[]> = {
  pl: ['Python', 'Go', 'TypeScript', 'Rust', 'Java', 'Kotlin', 'C#', 'Ruby', 'PHP', 'JavaScript', 'python', 'go', 'ts'],
  fn: ['`parseConfig`', 'load_users', '`OrderService.checkout`', 'handleRequest', '`calc_total()`', 'UserRepository', '`retryWithBackoff`', 'normalize_path'],
  db: ['Postgres', 'PostgreSQL', 'MySQL', 'SQLite', 'postgres', 'mysql'],
  n: ['8', '12', '15', '20', '30', '10'],
};
const pairs: ReadonlyArray<readonly [string, string]> = [
  ['Postgres', 'MySQL'],
  ['Redis', 'Memcached'],
  ['REST', 'gRPC'],
  ['Kafka', 'RabbitMQ'],
  ['React', 'Vue'],
  ['Flask', 'FastAPI'],
  ['Webpack', 'Vite'],
  ['Mongo', 'Postgres'],
];

const BOUNDARY_CONTEXT = [5_999, 6_000, 6_001, 23_999, 24_000, 24_001, 31_000];

const random = prng(0x19_c0_4b05);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;

function fill(template: string): string {
  const [a, b] = pick(pairs);
  return template
    .replace(/\{(pl|fn|db|n)\}/g, (_m, k: string) => pick(slots[k] ?? []))
    .replace(/\{a\}/g, a)
    .replace(/\{b\}/g, b)
    .replace(/\{err\}/g, () => pick(pastedErrors))
    // Four to eight paragraphs: a document, not a passing quote.
    .replace(/\{doc\}/g, () => Array.from({ length: 4 + Math.floor(random() * 5) }, () => pick(documents)).join('\n\n'));
}

/** How a hurried user types it: no capitals, no closing punctuation, maybe a swapped pair of letters. */
function hurried(prompt: string): string {
  const [ask, ...rest] = prompt.split('\n');
  let t = (ask ?? '').toLowerCase().replace(/[?？!！.。]+\s*$/u, '').replace(/\b(?:please|pls|bitte|por favor|s'il te plaît)\b\s*/g, '');
  const words = t.split(' ');
  const candidates = words.map((w, i) => (/^[\p{L}]{5,}$/u.test(w) && !/\p{Script=Han}|\p{Script=Hiragana}|\p{Script=Katakana}|\p{Script=Hangul}/u.test(w) ? i : -1)).filter((i) => i >= 0);
  if (candidates.length > 0 && random() < 0.6) {
    const i = pick(candidates);
    const w = words[i] as string;
    const j = 1 + Math.floor(random() * (w.length - 2));
    words[i] = w.slice(0, j) + w[j + 1] + w[j] + w.slice(j + 2);
    t = words.join(' ');
  }
  return [t, ...rest].join('\n');
}

function contextFor(template: string): number {
  return template.startsWith('[c]') ? 300 + Math.floor(random() * 5_200) : 0;
}

function fixedTier(tier: number, intent: CorpusRow['intent'], context: number): 0 | 1 | 2 {
  let t = tier;
  if (intent === 'refactor' || intent === 'tests' || context > 24_000) t = 2;
  else if (context >= 6_000 || intent === 'explain' || intent === 'fix' || intent === 'docs') t = Math.max(t, 1);
  return t as 0 | 1 | 2;
}

function build(): CorpusRow[] {
  const rows: CorpusRow[] = [];
  const seen = new Set<string>();
  const add = (row: CorpusRow) => {
    const key = `${row.prompt}\u0000${row.intent}\u0000${row.context_chars}`;
    if (seen.has(key)) return;
    seen.add(key);
    rows.push(row);
  };
  for (const [lang, table] of Object.entries(tables)) {
    for (const family of Object.keys(families) as Family[]) {
      const seeds = family === 'lookup' ? (lookups[lang] ?? []) : family === 'material' ? (material[lang] ?? []) : (table[family] ?? []);
      seeds.forEach((template, i) => {
        const seed = `${lang}/${family}/${i}`;
        const tier = families[family];
        const body = template.replace(/^\[c\]/, '');
        // Collision families are one phrasing each: three copies would outweigh the plain uses of the word.
        const copies = /\{(?:pl|fn|db|n|a|err|doc)\}/.test(body) && !/^c\d$/.test(family) ? 3 : 1;
        for (let c = 0; c < copies; c++) {
          const prompt = fill(body);
          const context = family === 'lookup' ? 200 + Math.floor(random() * 4_000) : contextFor(template);
          add({ prompt, intent: 'chat', context_chars: context, tier, lang, family, seed });
          if (c === 0) add({ prompt: hurried(prompt), intent: 'chat', context_chars: context, tier, lang, family: `${family}/hurried`, seed });
        }
        // Around the fixed rules' boundaries: the same ask with more attached context.
        if (family === 'lookup' || (family === 'explain' && template.startsWith('[c]')) || (family === 'diagnose' && i === 0)) {
          for (const context of BOUNDARY_CONTEXT) {
            add({ prompt: fill(body), intent: 'chat', context_chars: context, tier: fixedTier(tier, 'chat', context), lang, family: `${family}/context`, seed });
          }
        }
        // A refactor code action carries the user's own instruction in their language.
        if (family === 'refactor' || family === 'func' || family === 'oneliner') {
          const pl = pick(slots.pl ?? []);
          const file = pick(['config.py', 'server.go', 'UserList.tsx', 'billing.rs', 'InvoiceService.java']);
          const prompt = `${body.replace(/\{\w+\}/g, pl)}\n\nRefactor this ${pl.toLowerCase()} code from ${file}. Answer with only the complete replacement code in one fenced code block.`;
          add({ prompt, intent: 'refactor', context_chars: 400 + Math.floor(random() * 5_000), tier: 2, lang, family: 'intent/refactor', seed });
        }
        // Explain, fix and docs code actions with a question typed in the user's language.
        if (family === 'fact' || family === 'concept' || family === 'diagnose') {
          const intent = family === 'diagnose' ? 'fix' : family === 'concept' ? 'docs' : 'explain';
          add({ prompt: fill(body), intent, context_chars: 200 + Math.floor(random() * 5_000), tier: fixedTier(tier, intent, 0), lang, family: `intent/${intent}`, seed });
        }
      });
    }
  }
  // The code actions' own English instructions (src/vscode/codeActions.ts), per language of code.
  for (const pl of ['python', 'typescript', 'go', 'rust', 'java', 'csharp', 'ruby', 'php']) {
    const file = `module.${pl.slice(0, 2)}`;
    add({ prompt: `Write jest tests for this ${pl} code. The test file is ${file}.test, next to ${file} (import it from './${file}'). Cover normal cases, edge cases and errors. Answer with only the complete test file in one fenced code block.`, intent: 'tests', context_chars: 500 + Math.floor(random() * 20_000), tier: 2, lang: 'en', family: 'intent/tests', seed: `en/intent-tests/${pl}` });
    add({ prompt: `Explain what this ${pl} code does, how, and anything surprising in it.`, intent: 'explain', context_chars: 100 + Math.floor(random() * 5_000), tier: 1, lang: 'en', family: 'intent/explain', seed: `en/intent-explain/${pl}` });
  }
  return rows;
}

/** About a quarter of each language's seeds, chosen by a hash of the seed id, go to the blind split. */
function isBlind(seed: string): boolean {
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193);
  return (h >>> 0) % 4 === 0;
}

if (require.main === module) {
  const rows = build();
  const dir = path.resolve(__dirname, '../../test/fixtures/routing');
  const line = (r: CorpusRow) => JSON.stringify(r) + '\n';
  const train = rows.filter((r) => !isBlind(r.seed));
  const blind = rows.filter((r) => isBlind(r.seed));
  writeFileSync(path.join(dir, 'corpus.jsonl'), train.map(line).join(''));
  writeFileSync(path.join(dir, 'corpusBlind.jsonl'), blind.map(line).join(''));
  const byLang = new Map<string, number>();
  for (const r of rows) byLang.set(r.lang, (byLang.get(r.lang) ?? 0) + 1);
  console.log(`${rows.length} prompts: ${train.length} train, ${blind.length} blind; ${[...byLang].map(([l, n]) => `${l} ${n}`).join(', ')}`);
}
