import type { Classification, ClassifyInput, Tier } from './classification';

/*
 * The rule half of the classifier (classifier.ts): the rubric's fixed rules and text patterns that
 * follow /shared/routing/RUBRIC.md. Their tier and reasons are signals the learned model weighs,
 * and their reasons are what a user reads when model and rules agree.
 *
 * It runs on every prompt before routing, so it must cost microseconds: all patterns are compiled
 * once here, the text is lower-cased once, and no pattern has nested unbounded quantifiers (every
 * gap is a bounded `{0,n}` class run), so a 100k-character prompt stays linear.
 *
 * The patterns describe verb classes and question forms from the rubric, not wording from the
 * labelled examples: the classifier is judged on unseen prompts written to the same rubric.
 */

const LONG_CONTEXT = 24_000;
const MEDIUM_CONTEXT = 6_000;
/** Longer prompts are pasted material; only their head and tail carry the ask. */
const ANALYSE_WINDOW = 2_000;
/** Prose longer than this is an ask wrapped around pasted material when it has paragraphs. */
const LONG_PROSE = 1_200;
const ASK_PARAGRAPH = 600;
/** Pasted prose this long is a document to work on, not a passing quote. */
const PASTED_MATERIAL = 800;
/** A closing paragraph longer than this is material, not a question about it. */
const LONG_ASK = 300;
/** Below this much code, a review or a translation is of a snippet, not of substantial code. */
const SUBSTANTIAL_CODE = 2_000;

// CS, DEICTIC and DEICTIC_OBJ are regex literals' `.source`, not String.raw like the other
// fragments: the build escapes their non-ASCII words (scripts/asciiOnly.mjs), which a raw
// template would keep as text.
// A place where an imperative ask can start: sentence or clause start, a list marker, or after a
// politeness / sequencing word ("can you", "then", "and", "I want to"). Each alternative is `^` or
// ends on a non-word character, so what follows starts a word: `Clause` relies on that.
const CS =
  /(?:^|[.!?;:\n,(]\s*|\b(?:and|then|also|please|pls|plz|now|first|next|finally|lastly|me|us|let's|lets)\s+(?:to\s+)?|\b(?:can|could|will|please|pls|want|need|like|asking)\s+(?:you|u)\s+(?:to\s+|please\s+)?|\b(?:want|like|need|have|going|trying)\s+to\s+|\b(?:\d{1,2}|[a-h])[.)]\s*|[-*•]\s+)/.source;
// A reference to code the user has (attached, pasted, theirs), as opposed to a general question.
const DEICTIC =
  /(?:\b(?:this|these|here|attached|below|above|following|diese[rsmn]?|dieses|hier|este|esta|estos|estas|esto|aquí|ce|cette|ces|ici|этот|эта|это|этой|цей|ця|це|тут)\b|这|這|此|§|¶|\b(?:my|our|the) (?:code|function|class|module|file|files|app|codebase|repo|project|service|component|pr|diff|script|method|handler|query|tests?|api|controller|frontend|backend)\b)/.source;
const DEICTIC_OBJ =
  /(?:up\s+|out\s+|apart\s+)?(?:this|these|that|those|it|them|the|my|our|all|every|everything|each|§|¶)/.source;

const LANGS =
  String.raw`(?:python|py|javascript|js|typescript|ts|go|golang|rust|java|kotlin|swift|c|c\+\+|cpp|c#|csharp|f#|ruby|php|scala|elixir|erlang|haskell|ocaml|clojure|bash|shell|sh|zsh|powershell|lua|perl|r|julia|dart|sql|objective-c|zig|nim|groovy|vb\.net|fortran|cobol|matlab|wasm|solidity)`;

const re = (source: string, flags = ''): RegExp => new RegExp(source, flags);

/**
 * A clause pattern (CS, then a verb) that is run only when it can match. Irregexp cannot anchor
 * CS, so every clause pattern tries every position of the text, and together they were most of
 * the classifier's cost. But CS ends at the start of the text or on a non-word character, so the
 * verb starts a word, with one of the literals its alternatives begin with (its leads). A single
 * flat `\b(?:lead|…)` alternation of all patterns' leads scans a text for about the cost of one
 * clause pattern, so `clausesIn` does that once per text, and a pattern whose leads do not start
 * any word is skipped.
 */
class Clause {
  constructor(
    readonly re: RegExp,
    /** This pattern's bit in `clausesIn`'s result. */
    readonly bit: number,
  ) {}

  /** `clauses` is `clausesIn(text)`, or `clausesIn` of a text that `text` is a prefix of. */
  test(text: string, clauses: number): boolean {
    return (clauses & this.bit) !== 0 && this.re.test(text);
  }

  exec(text: string, clauses: number): RegExpExecArray | null {
    return (clauses & this.bit) !== 0 ? this.re.exec(text) : null;
  }

  count(text: string, clauses: number): number {
    return (clauses & this.bit) !== 0 ? countMatches(this.re, text) : 0;
  }
}

/** Each clause pattern's leads, at the index of its bit. */
const clauseLeads: string[][] = [];

/** A clause pattern whose every match has one of `leadsOf`'s leads (see `literalLeads`) at a word start. */
function gated(leadsOf: string, source: string, flags = ''): Clause {
  if (clauseLeads.length >= 31) throw new Error('too many clause patterns for a 31-bit mask');
  clauseLeads.push(literalLeads(leadsOf));
  return new Clause(re(source, flags), 1 << (clauseLeads.length - 1));
}

/** CS, then one of `verbs` (an alternation), then `tail`. */
const clause = (verbs: string, tail = '', flags = ''): Clause => gated(verbs, `${CS}(?:${verbs})${tail}`, flags);

const WRITE_VERBS = 'write|implement|create|code up|build|generate|draft|produce|make|give me|show me|develop|scaffold|program';
const I_WANT = "i (?:need|want|would like|'d like)";

const P = {
  greeting:
    /^(?:hi+|hello|hey+|heya|hiya|yo|sup|howdy|morning|good (?:morning|afternoon|evening|night)|thanks?|thank you|thx|ty|cheers|ok(?:ay)?|cool|nice|great|awesome|perfect|lol|haha|bye|gm|gn|hola|gracias|danke|hallo|merci|bonjour|salut|ciao|привіт|привет|дякую|спасибо|你好|谢谢|ありがとう)(?![a-z])/,
  politeRequest: /^(?:(?:hey|hi|ok|okay|so|yo|please|pls)[,!.]?\s+)*(?:can|could|would|will) (?:you|u|someone)\b/,
  question:
    /^(?:(?:ok(?:ay)?|so|hey|hi|yo|quick (?:one|question|q)|one more thing|also)[,:!.\-–—]*\s+)*(?:what(?:'s|s)?|is|isn't|are|does|do|did|can|should|when|which|who|whats|was|were|has|have)\b/,
  // The optional `python:` label is shared, not repeated per alternative: each copy re-scanned it.
  howTo:
    /^¿?(?:cómo|como|wie|comment|как|як)\s|怎么|怎樣|怎样|如何|^(?:[\w#+.]{1,12}:\s*)?(?:(?:(?:ok(?:ay)?|so|hey|hi|yo|quick (?:one|question|q))[,:!.\-–—]*\s+)*how (?:do|can|could|should|would) (?:i|we|you|one)\b|how to\b|(?:command|syntax|flag|shortcut|idiom|keyboard shortcut|cli flag|option)\b)/,
  deictic: re(DEICTIC),
  meaning:
    /^¿|\bwhat (?:does|do|is|'s)\b[^?\n]{0,60}\b(?:mean|stand for)\b|\b(?:significa|bedeutet|означает|означає|signifie)\b[^.\n]{0,40}\?|什么意思|是什么|什麼意思|とは/,
  dismissal:
    /not (?:really )?(?:asking|the question|what i'?m asking)|don'?t need (?:help|advice) with|(?:that'?s|this is) not (?:the|my) question|\banyways?[,.:]|the only thing i|\ball i (?:need|want)|\bi just (?:want|need)|my (?:actual|real) question|long story short/g,

  // Tier 2: change the structure of existing code while keeping behaviour.
  refactorWord:
    /\b(?:refactor(?:ing)?|re-?structure|re-?architect|re-?organi[sz]e|rewrite|re-?write|migrate|moderni[sz]e|decouple|decompose|de-?duplicate|dedupe|dry (?:it |this )?up|modulari[sz]e|untangle|umbauen|umschreiben|umstrukturieren|umstellen|umwandeln|konvertier\w*|convierte\w*|convertir|transforma\w*|convertis\w*|transforme\w*|migre\w*|refactoriz\w*|reestructur\w*|reescrib\w*|migra[rd]\w*|moderniz\w*|refactore\w*|réécri\w*|рефактор\w*|перепиш\w*)|重构|重構|重写|改成|改为|改寫|迁移|遷移|改造|转成|轉成|转换成|リファクタ|移行/,
  refactorMove: clause(
    String.raw`extract|split|break|pull|carve|factor|hoist|lift|inline|rename|decompose|move|simplify|clean|tidy|consolidate|generali[sz]e|abstract`,
    String.raw`\s+` + DEICTIC_OBJ,
  ),
  refactorFrom: clause(
    String.raw`extract|pull out|pull|split out|factor out|move|carve out|lift|hoist|separate|isolate`,
    String.raw`\b[^.?!\n]{0,40}?\b(?:from|out of)\s+` + DEICTIC_OBJ,
  ),
  snippetObject: re(
    String.raw`^[^.?!\n]{0,40}?\b(?:this|the|that|my)\s+(?:[\w-]+\s+)?(?:query|snippet|line|loop|expression|one-?liner|command|regex|statement|call|comprehension|formula)\b`,
  ),
  refactorChange: clause(
    String.raw`convert|turn|change|switch|make|rewrite|replace|swap|upgrade|port|transform`,
    String.raw`\s+` +
      DEICTIC_OBJ +
      String.raw`\b[^.?!\n]{0,80}?\b(?:to|into|from|instead|use|using|with|async|sync|generic|reusable|testable|modular|immutable|functional|pure|type-?safe|thread-?safe|readable|cleaner|nicer|idiomatic|extensible|configurable|injectable|composable|simpler|dry)\b`,
  ),
  refactorSmell:
    /\b(?:duplication|duplicated code|boilerplate|copy-?pasted? code|code smells?|tech(?:nical)? debt|spaghetti|god (?:class|function|object)|callback hell|nested callbacks|separation of concerns|single responsibility|tight(?:ly)? coupl\w*)\b/,
  migrateMove:
    /\b(?:move|moving|switch|switching|get|transition|go|port)\s+(?:us\s+|our\s+|this\s+|the\s+|it\s+|everything\s+)?[^.?!\n]{0,30}?\b(?:off(?: of)?|away from|from)\b[^.?!\n]{1,40}?\b(?:to|onto|over to|in favou?r of)\b/,
  keepBehaviour:
    /without (?:changing|altering|breaking) (?:the |its )?(?:behaviou?r|functionality|semantics|output)|keep(?:ing)? (?:the )?(?:same |existing |current )?(?:behaviou?r|functionality|semantics)|behaviou?r (?:must|should|has to) stay|same (?:external )?behaviou?r|保持行为|行为不变|不改变行为|sin cambiar (?:el )?comportamiento|ohne (?:das )?verhalten/,
  portWord: clause('port', String.raw`\b`),
  translate: clause(
    String.raw`translate|convert|rewrite|port|transpile|redo|turn`,
    String.raw`\b[^.?!\n]{0,60}?\b(?:to|into|in)\s+(?:an?\s+|the\s+)?(?:[\w-]+\s+)?` +
      LANGS +
      String.raw`(?![\w+#])`,
  ),
  bigObject:
    /\b(?:module|modules|files|app|apps|application|codebase|code ?base|project|service|services|library|package|repo|repository|program|frontend|backend|whole|entire|everything|server|crate|monorepo)\b/,
  smallObject:
    /\b(?:snippet|line|lines|loop|expression|one-?liner|function|method|query|regex|statement|comprehension|block|lambda|struct|enum|formula|oneliner|filter|pipeline|command|jq|awk|sed|macro)\b|§/,

  // Tier 2: write tests for code.
  writeTests:
    /\b(?:write|writing|generate|create|add|adding|give me|produce|draft|build|set up|implement|need|want)\b[^.?!\n]{0,60}?(?:(?<!\b(?:npm|yarn|pnpm|go|cargo|mvn|gradle|make|dotnet|bun|deno|runs?|running|execute[sd]?|skip|skips|skipping|rerun)\s(?:the\s|all\s|my\s|our\s)?)(?:\btests\b|(?<!\bto )\btest\b(?!\s+(?:whether|if|to see|how|command|script|job|step|stage|runner)))|\btest ?(?:suites?|cases?|plan|coverage|harness)\b|\bspecs\b|\bunit[- ]?tests?\b|\bcoverage\b)|\bcover\b[^.?!\n]{0,60}?\bwith (?:unit |integration )?tests\b|\bcovered (?:by|with) (?:[\w-]+ )?tests\b|\bunit[- ]test (?:this|these|it|the|my|our)\b|\b(?:unit|integration|e2e|end-to-end|regression|snapshot|property[- ]based|table[- ]driven|parametri[sz]ed|jest|pytest|junit|mocha|vitest|rspec|xunit|nunit)\s+tests?\s+(?:for|covering|that|of)\b/,
  testsNoun: /^(?:(?:please|pls|now|ok|and|also|some|more|a few|unit|integration|e2e|jest|pytest)[,!]?\s+){0,3}(?:tests|(?:an?|one|another)\s+(?:[\w-]+\s+)?test)\b(?!\s+(?:are|is|was|were|fail|fails|failing|pass|passes|passing|hang|hangs|run|runs|take|takes|keep|don'?t|doesn'?t))/,
  renameAny: clause('rename', String.raw`\b[^.?!\n]{1,40}?\b(?:to|into)\b`),
  writeTestsIntl:
    /(?:schreib\w*|erstell\w*|escrib\w*|genera\w*|crea\w*|écri\w*|ajout\w*|añad\w*|agreg\w*|напиш\w*|добав\w*|створ\w*)[^.?!\n]{0,40}?(?:tests?\b|pruebas?|unit-?tests?|тест\w*)|(?:写|编写|生成|添加|補充|补充|寫|編寫)[^。？！\n]{0,20}?(?:测试|測試|单测|單元測試)|テストを(?:書|作)/,

  // Tier 2: design, review, many files, many asks.
  designVerb: clause(
    String.raw`(?:design|architect|re-?design|plan out|sketch out|lay out)\b(?!\s+(?:patterns?\b|a logo|an? icon))|(?:propose|suggest|come up with|define|plan)\b[^.?!\n]{0,40}?\b(?:architecture|design|schema|data model|service layout|layout|topology|infrastructure|deployment strategy|rollout plan|migration plan)\b`,
  ),
  howWouldYou: /\bhow (?:would|should) (?:you|we|i) (?:design|architect|build|scale|structure|set up)\b/,
  architecture: /\barchitecture\b|\bsystem design\b|\bhigh[- ]level design\b|\bdata layer\b|\bscal(?:e|ing) (?:to|out)\b|\bmulti-tenan/,
  recommends: /\b(?:recommend|suggest|propose|would you|should (?:we|i) (?:use|pick|choose|go with)|for (?:our|my|a|an)\b)/,
  tradeoffs: /\btrade[- ]?offs?\b|\bpros and cons\b|\bpros\/cons\b/,
  review:
    /\b(?:audit(?!\s+(?:logs?|trails?|tables?|events?|logging))|security review|code review|performance review|review|pen-?test|threat[- ]model)\b|\b(?:look|check|scan|go|comb|search|dig)(?: through| over)?\b[^.?!\n]{0,40}?\bfor\b[^.?!\n]{0,40}?(?:security|vulnerabilit|injection|xss|csrf|race conditions|memory leaks|leaks|bottlenecks|performance|n\+1|inefficien|slow queries|code smells|bugs)|\b(?:find|spot|identify)\b[^.?!\n]{0,30}?\b(?:vulnerabilit\w*|security (?:issues|holes|bugs)|bottlenecks|performance (?:issues|problems))\b/,
  reviewBig: /\b(?:codebase|code ?base|pr|pull request|diff|repo|repository|module|modules|app|application|service|services|project|changes|branch)\b/,
  across: re(
    String.raw`\bacross\s+(?:(?:all|the|these|those|our|my|every|multiple|several|many|different|\d+|two|three|four|five|six)\s+){0,2}(?:[\w-]+\s+)?(?:files|modules|services|packages|repos|repositories|codebase|code ?base|project|projects|app|apps|application|frontend|front-end|backend|back-end|stack|components|layers|documents|docs|papers|reports|classes|endpoints|clients|pages|screens|controllers|microservices|crates|notebooks|sheets|handlers|routes|gateway|tiers)\b`,
  ),
  acrossList: clause(
    String.raw`add|implement|wire(?: up)?|roll out|introduce|set up|integrate|support|enable|update|change|replace|rename|propagate|apply|build|ship`,
    String.raw`\b[^.?!\n]{0,60}?\bacross\s+(?:both\s+)?[^.?!\n,]{1,40}?(?:,|\band\b)`,
  ),
  wholeProject:
    /\b(?:whole|entire|full)\s+(?:[\w.-]+\s+)?(?:codebase|code ?base|project|repo|repository|app|application|frontend|front-end|backend|back-end|monorepo|system|solution|website|site)\b|\b(?:all|every|each)\s+(?:of\s+)?(?:the\s+|our\s+|my\s+|these\s+|those\s+)?(?:[\w-]+\s+)?(?:modules|services|packages|components|endpoints|controllers|clients|handlers|routes|repos|microservices|call ?sites|usages|callers)\b|\b(?:all|every) (?:of )?(?:the|our|my|these) (?:[\w-]+ )?files\b|\bevery file in\b|\b(?:each|every)\s+(?:single\s+)?(?:module|service|microservice|package|component|endpoint|controller|handler|route|repo|repository|crate)\b|\bthroughout (?:the |our |this )?(?:codebase|code ?base|project|app|repo)\b|\b(?:project|codebase|repo)[- ]wide\b|\beverywhere in (?:the|our|this) (?:code|codebase|project|app|repo)\b|整个项目|整個專案|整个代码库|所有(?:文件|模块|服务)/,
  manyDocs:
    /\b(?:these|those|the|all|attached|all the|all of the|all of these|all our|our|my)\s+(?:\d+|two|three|four|five|six|seven|eight|nine|ten|dozen|several|many|multiple|various)?\s*(?:[\w-]+\s+)?(?:papers|documents|docs|pdfs|reports|articles|transcripts|contracts|files|modules|services|repos|codebases|logs|tickets|specs|apps|microservices|packages|notebooks|emails|studies|chapters|datasets|spreadsheets)\b/,
  manyDocsCount:
    /\b(?:these|those|the|all|each of (?:these|the))\s+(?:[3-9]|\d{2,}|three|four|five|six|seven|eight|nine|ten|dozen)\s+(?:[\w-]+\s+){0,2}[\w-]+s\b|\b(?:[3-9]|\d{2,}|three|four|five|six|seven|eight|nine|ten|dozen|several|many|multiple|various)\s+(?:[\w-]+\s+){0,2}(?:papers|documents|docs|pdfs|reports|articles|transcripts|contracts|files|modules|services|repos|codebases|logs|tickets|specs|apps|microservices|studies|chapters|datasets)\b/,
  analysisVerb:
    /\b(?:compare|contrast|find|identify|analy[sz]e|go through|look through|summari[sz]e|review|audit|consolidate|patterns?|inconsisten\w*|in common|differ\w*|tell me where|cross-reference|rank|which of (?:these|them)|flag)\b/,
  featureLayers:
    /\b(?:db|database|table|migration|schema|endpoint|api|rest|graphql|service layer|controller|middleware|model|view|page|screen|dashboard|admin|component|ui|frontend|backend|store|reducer|route|router|cli|config|docs|tests?|cache|queue|worker|job|webhook|notification|email)\b/g,
  feature: /\b(?:feature|support for|end-to-end|e2e flow)\b/,
  buildVerb: clause(String.raw`add|implement|build|create|introduce|ship|develop`, String.raw`\b`),
  imperativeAsk: clause(
    String.raw`write|add|create|build|implement|generate|design|explain|describe|compare|list|tell|show|point out|propose|suggest|recommend|find|identify|fix|refactor|rewrite|migrate|convert|port|split|extract|rename|move|update|remove|delete|replace|define|handle|roll (?:it |this )?out|set up|setup|configure|deploy|document|review|audit|analy[sz]e|summari[sz]e|plan|draft|give|provide|outline|estimate|benchmark|optimi[sz]e|profile|cover|persist|disable|enable|validate|integrate|discuss|spell out|justify|evaluate|assess|go through|walk (?:me )?through|translate|clean up|pick|choose|sketch|wire(?: up)?|expose|cache|clarify|diagnose|debug`,
    String.raw`\b`,
    'g',
  ),
  whClause: /(?:^|[.!?;:\n]\s*|,\s*(?:and\s+|or\s+|then\s+|also\s+)?|\s(?:and|also|plus)\s+)(?:what|how|why|where|when|which|who|should (?:i|we)|is there|are there|do i|does it|can i)\b(?!\s*[?？.!]*\s*$)/g,
  // Action verbs that also describe the steps of one script ("download X, parse it, upload Y"):
  // asks only outside a small artifact's spec.
  stepAsk: clause(
    String.raw`highlight|display|render|connect|hook up|send|save|store|emit|notify|redirect|insert|sort|filter|paginate|publish|schedule|trigger|reuse|adjust|tweak|improve|polish|restyle|style|animate|mock|seed|backfill|index|measure|monitor|alert|fetch|load|import|export|upload|download|parse|format|lint|bump|release|log`,
    String.raw`\b`,
    'g',
  ),
  enumItem: /(?:^|\n|[\s,;:])\(?(?:\d{1,2}|[a-h])\)\s+\S|(?:^|\n)\s*(?:\d{1,2}\.|[-*•])\s+\S/g,

  // Tier 1.
  explain:
    /(?:^|[^a-z])(?:explain|describe|walk (?:me )?through|teach me|help me understand|break down|elaborate|clarify)\b|\bhow (?:does|do|did|is|are)\b(?! (?:i|we|you)\b)[^.?!\n]{1,80}?\b(?:work|works|working|handle|handled|implemented|achieve|manage|affect|affects|compare|differ|get|cause|scale|fit|interact|behave|propagate|decide|resolve|cancel|cancels|order|schedule|elect|speed)\b|\bwhat happens (?:when|if|under|during)\b|\bunder the hood\b|\binternals?\b|explica|explíca|erklär|объясн|поясн|解释|解釋|讲解|講解|説明|説明して/,
  depth:
    /\bin (?:depth|detail|details|great detail)\b|\bin-depth\b|\bdeep[- ]dive\b|\bthoroughly\b|\bstep[- ]by[- ]step\b|\bgo deep\b|\bproperly\b|\bactually understand\b|\bfrom first principles\b|详细|詳細|en detalle|a fondo|ausführlich|im detail|подробно|докладно|en profondeur/,
  briefStrong:
    /\bin (?:a|one) (?:sentence|line|word)\b|\bsentence or two\b|\bone[- ]sentence\b|\bshort answer\b|\byes or no\b|\byes\/no\b|\btl;?dr\b|\bone[- ]word\b/,
  briefSoft: /\bquick(?:ly)?\b|\bbrief(?:ly)?\b|\bin short\b|\bshort\b/,
  // errorText's words ending in error/exception ("TypeError:", "RuntimeException"), apart because
  // `\b[a-z]*` retries at every letter of every word; tried only when the text has those words.
  errorWord: /\b[a-z]*(?:error|exception)\b\s*[:(]|\b[a-z]+(?:error|exception)\b/,
  errorText:
    /\b(?:error|err)\s*[[(]?[a-z]?\d{2,}[\])]?(?:\s*\(\w+\))?\s*:|\baccess denied\b|\bconnection refused\b|\bpanic:|traceback \(most recent|\bsegfault|segmentation fault|\bstack ?trace\b|\bcore dumped\b|\n\s+at [\w.$<>]+[ (]|\berror\[?e?\d+\]?:|\bts\d{4}\b|\bexit(?:ed)? (?:with )?(?:code|status) \d|\bfailed to\b|\bcannot find\b|\bno module named\b|\bis not a function\b|\bis not defined\b|\bnot assignable\b|\bunexpected token\b|\bcrashloopbackoff\b|\boomkilled\b|\bdeadlock(?:ed)?\b|\bnullpointer|\bnull pointer\b|\bundefined reference\b|\bcommand not found\b|\bpermission denied\b|\bhint:/,
  diagnose:
    /\bwhat (?:could|might|would|can) (?:be )?caus|\b(?:hangs|hanging|freezes|freezing|flaky|flakes|times out|timing out|passes locally|works locally|works on my machine|segfaults|deadlocks)\b|\bwhy (?:is|does|do|are|did|would|was|were) (?:my|our|this|these)\b|\bwhy\b[^?\n]{0,60}?\b(?:is|are|does|do|gets?|keeps?|comes? out|ends? up)\s+(?:not\s+|always\s+|still\s+)?(?:undefined|null|nan|none|nil|empty|zero|wrong|failing|slow|broken|blank|missing|stale)\b|\b(?:keep getting|keeps? (?:failing|crashing|throwing)|(?:i'?m|i am|im) getting|i get (?:an?|this|the)\b)|,\s*why\?*\s*$|为什么|為什麼|\bwarum\b|por qué|pourquoi|почему|чому|\bwhy (?:is|does|do|did|am|are|isn'?t|doesn'?t|won'?t|can'?t|would|was|were|does not|is not|do i get|am i getting)\b[^?\n]{0,80}?\b(?:fail|failing|fails|failed|crash\w*|null|undefined|nan|none|nil|empty|hang\w*|slow|leak\w*|wrong|twice|error\w*|throw\w*|break\w*|broken|not|never|zero|negative|stuck|time ?out|timing out|block\w*|freez\w*|off by one|duplicat\w*|infinite|terminate|panic\w*|flak\w*|race)\b|\bwhat(?:'s| is) (?:wrong|broken|going on|happening|causing)\b|\bwhat causes\b|\bfind (?:the|this) bug\b|\bwhy (?:null|undefined|nan|none|nil|empty)\b|\bdoesn'?t work\b|\bnot working\b|\bbroken\b|\bbug\b|\bdebug\b|\bfix (?:this|it|the|my|that)\b|\bwhat do i do\b|\bwhy (?:this|that|here)\b|\bhow (?:do|can) i fix\b/,
  regex:
    /\b(?:regex|regexp|regexes|regular expressions?)\b|正则|正規表現|regulär\w* ausdr|expresi[oó]n regular|регуляр|\^[^\s^$]{4,}\$|\(\?[=!<:]/,
  summarize: /\b(?:summari[sz]e|summarise|summary|tl;?dr of|recap|gist of)\b|resum\w+|zusammenfass\w*|总结|總結|摘要|підсумуй|резюм/,
  docsWrite:
    /\b(?:write|add|generate|create|draft|give me|produce|document|improve|need|suggest)\b[^.?!\n]{0,40}?\b(?:docstrings?|jsdoc|javadoc|tsdoc|kdoc|rustdoc|doc ?comments?|comments?|documentation|readme|changelog|release notes|commit (?:message|msg)|pr description|type hints|annotations|docs)\b|\b(?:commit (?:message|msg)|pr description|pull request description|release notes|changelog entry)\b|^(?:please\s+)?document\b|(?:写|添加|生成)[^。\n]{0,10}?(?:注释|文档)/,
  compare:
    /^(?:[\w.#+/-]+\s){1,2}(?:or|vs\.?|versus)\s(?:[\w.#+/-]+\s?){1,2}(?:for|to|in|\?|,)|\bcompare\b|\bcomparison\b|\b(?:vs\.?|versus)\s|\bdifferences? between\b|\bwhich (?:is|one is|one|should i|would you|do you) (?:better|faster|safer|recommend|pick|choose|use|prefer)\b|\bshould (?:i|we) (?:use|pick|choose|go with|prefer)\b[^?.\n]{1,60}?\bor\b|\bbetter choice\b|\bpros and cons\b/,
  writeTarget: gated(
    `${WRITE_VERBS}|${I_WANT}`,
    String.raw`(?:${CS}(?:${WRITE_VERBS})|\b${I_WANT}(?:\s+(?:to\s+)?(?:write|implement|create|build|make|get))?)\b(?:\s+[\w.+#'/-]+){0,4}?\s+(function|func|method|script|query|class|dockerfile|compose file|program|snippet|hook|component|endpoint|cli|tool|regex|makefile|config|yaml|workflow|lambda|procedure|macro|algorithm|parser|validator|helper|utility|util|cron ?job|one-?liner|decorator|middleware|handler|route|struct|trigger|migration|schema|module|lru cache|iterator|generator|reducer|app|application|website|web app|service|microservice|backend|api|server|game|platform|saas|compiler|interpreter|framework|library|sdk|operating system|bot|extension|plugin)s?\b`,
  ),
  writeAny: clause(String.raw`write|implement|code|create`, String.raw`\b`),
  bigBuild:
    /^(?:app|application|website|web app|service|microservice|backend|api|server|game|platform|saas|compiler|interpreter|framework|library|sdk|operating system|database|bot|extension|plugin)$/,
  changeGiven: clause(
    String.raw`add|change|update|remove|delete|handle|make|fix|improve|optimi[sz]e|speed up|check|validate|rename|adjust|tweak|correct`,
    String.raw`\b`,
  ),
  lookup:
    /^(?:what|which)(?:'s| is| are)? (?:the )?(?:language|line|lines|file|version|name|framework|library|lib|package|type|encoding|license|port|author|date|year)\b|\bwhere (?:is|are|do|does)\b|\bis there (?:a|an|any)\b|\bdoes (?:this|it|the file) (?:have|contain|use|import|include|define|mention)\b|\bhow many\b|\b(?:which|what) line\b|\bwhat language\b/,
  codeLine:
    /^\s{2,}\S|^\t|[;{}]\s*$|^\s*(?:at |def |class |func |fn |function |return |import |from \S+ import|#include|public |private |const |let |var |if \(|for \(|while \(|}|\)|e {2,}|@\w+|\/\/|#!)|^\s*[\w.[\]]+\s*[+\-*/]?=\s*\S|=>|->|::/,
  why: /\bwhy\b/,
  notOneLine: /\b(?:why|when|instead|vs|versus|compare|difference|better|prefer|trade-?offs?)\b/,
  codeRuns: /(?: ¶ )+/g,
  paragraphBreak: /\n[ \t]*\n/,
  introLine: /^[^\n]{0,200}[:：][ \t]*(?=\n)/,
  introducesMaterial: /[:：]\s*$|^[^\n]{0,200}\b(?:below|following)\b/,
  refersBack: /\babove\b|\b(?:this|these|that|it)\b[^\n]{0,200}[?？]\s*$/,
  refactorNamed: /\brefactor/,
  conceptNamed: /\b(?:refactor|test|mock|tdd|review)/,
  inlineCode: /`[^`\n]{0,400}`/g,
  leadingNonWord: /^[^a-z]+/,
  thousands: /\B(?=(\d{3})+(?!\d))/g,
} as const;

const leadScan = buildLeadScan(clauseLeads);

/** The clause patterns that can match `text`: those with a lead at one of its word starts. */
function clausesIn(text: string): number {
  const { scan, bits, all } = leadScan;
  let clauses = 0;
  scan.lastIndex = 0;
  for (let m = scan.exec(text); m; m = scan.exec(text)) {
    clauses |= bits.get(m[0]) ?? 0;
    if (clauses === all) break;
    // Resume inside the match: a lead such as `come up with` may contain another's start.
    scan.lastIndex = m.index + 1;
  }
  return clauses;
}

interface Prepared {
  /** Lower-cased prose with code masked: `§` inline code, `¶` a code block. */
  prose: string;
  /** Lower-cased full text (errors live inside code spans and traces). */
  full: string;
  codeLines: number;
  codeChars: number;
  hasQuestionMark: boolean;
}

/** What the rubric's rules find in a prompt, before the learned model weighs it. */
export interface RuleFindings {
  /** The fixed rules' floor (intent, context size); 2 decides outright. */
  fixed: Reasons;
  /**
   * The rules' reading of the text, from the fixed rules' tier up (its own reasons only);
   * `undefined` when the fixed rules already decided.
   */
  text: Reasons | undefined;
  intent: string;
  contextChars: number;
  prompt: string;
  /**
   * The ask as the rules read it: lower-cased prose with code masked (`§` inline, `¶` a block) and
   * pasted material around it left out. Empty when the fixed rules decided.
   */
  ask: string;
}

/** Runs the rubric's rules: the fixed ones, then the text patterns unless tier 2 is already fixed. */
export function ruleFindings(input: ClassifyInput): RuleFindings {
  const intent = input.intent ?? 'chat';
  const contextChars = Math.max(0, input.contextChars ?? 0);
  const prompt = input.prompt ?? '';
  const fixed = new Reasons();

  // Fixed rules first: they take precedence over anything the text says.
  if (intent === 'refactor') fixed.add(2, 'refactor intent');
  else if (intent === 'tests') fixed.add(2, 'tests intent');
  if (contextChars > LONG_CONTEXT) fixed.add(2, `context ${commas(contextChars)} chars > ${commas(LONG_CONTEXT)}`);
  else if (contextChars >= MEDIUM_CONTEXT) fixed.add(1, `context ${commas(contextChars)} chars ≥ ${commas(MEDIUM_CONTEXT)}`);
  // A pasted document is context too; the rubric's "long context needs the large model" applies.
  if (prompt.length > LONG_CONTEXT) fixed.add(2, `prompt ${commas(prompt.length)} chars > ${commas(LONG_CONTEXT)}`);
  else if (prompt.length >= MEDIUM_CONTEXT) fixed.add(1, `prompt ${commas(prompt.length)} chars ≥ ${commas(MEDIUM_CONTEXT)}`);
  // Code actions hand over a selection to reason about: the rubric puts "explain how a function
  // works", "diagnose a given error" and "write docstrings" in tier 1, never below.
  if (intent === 'explain' || intent === 'fix' || intent === 'docs') fixed.add(1, `${intent} intent`);

  let text: Reasons | undefined;
  let ask = '';
  if (fixed.tier < 2) {
    text = new Reasons(fixed.tier);
    if (prompt.trim().length === 0) text.add(0, 'empty prompt');
    else ask = classifyText(prepare(prompt), contextChars, text);
  }
  return { fixed, text, intent, contextChars, prompt, ask };
}

/** What the rules alone decide: the fixed rules' floor and the text patterns, with their reasons. */
export function rulesOnly(f: RuleFindings): Classification {
  if (!f.text) return f.fixed.result();
  const tier = Math.max(f.fixed.tier, f.text.tier) as Tier;
  return { tier, reasons: [...f.fixed.at(tier), ...f.text.at(tier)].slice(0, 4) };
}

/** Adds the text's reasons to `out`; returns the ask it read them from. */
function classifyText(t: Prepared, contextChars: number, out: Reasons): string {
  const text = askPart(focus(t.prose));
  const start = text.trimStart();
  const clauses = clausesIn(text);
  const deictic = t.codeLines > 0 || P.deictic.test(text);
  const question = (P.question.test(start) || P.meaning.test(text)) && !P.politeRequest.test(start);
  const howTo = P.howTo.test(start);
  // A question about a concept ("what does refactoring mean?") names a task without asking for it.
  const concept = (question || howTo) && !deictic;
  // Pasted prose left out of the ask is material to work on, like attached context.
  const material = t.prose.length - text.length;
  const codeSize = contextChars + t.codeChars + material;
  const target = concept || howTo ? null : P.writeTarget.exec(text, clauses);
  // Inside a script's spec ("a script that lists all services") scope words describe data, and
  // verbs describe the script's steps, not separate asks.
  const specStart = target && !P.bigBuild.test(target[1] ?? '') ? target.index + target[0].length : -1;
  const asks = countAsks(text, clauses, t.hasQuestionMark, specStart);

  // ---- Tier 2 ----
  if (!concept) {
    if (P.writeTests.test(text) || P.writeTestsIntl.test(text) || P.testsNoun.test(start)) out.add(2, 'asks for tests');
    if (P.keepBehaviour.test(text)) out.add(2, 'restructure keeping behaviour');
    const translate = P.translate.exec(text, clauses);
    if (translate) {
      const span = translate[0];
      const big = P.bigObject.test(span);
      const small = !big && P.smallObject.test(span);
      // Ungated: `clauses` describes `text`, and this rare test is on a span of it.
      if (big || (!small && (P.portWord.re.test(span) || codeSize >= SUBSTANTIAL_CODE * 2))) {
        out.add(2, 'asks to port a whole module');
      } else out.add(1, 'translate a snippet');
    } else {
      const change = P.refactorChange.exec(text, clauses);
      if (
        P.refactorWord.test(text) ||
        P.refactorMove.test(text, clauses) ||
        P.refactorFrom.test(text, clauses) ||
        changesStructure(text, change) ||
        P.migrateMove.test(text) ||
        (deictic && P.refactorSmell.test(text)) ||
        ((contextChars > 0 || t.codeLines > 0) && P.renameAny.test(text, clauses))
      ) {
        out.add(2, 'asks to refactor existing code');
      } else if (change) out.add(1, 'translate a snippet');
    }
  } else if (howTo && P.refactorWord.test(text) && !P.refactorNamed.test(text)) {
    // "how do I migrate from X to Y" is a procedure to explain, not code to transform.
    out.add(1, 'explain a migration path');
  } else if (howTo && P.howWouldYou.test(text)) {
    // General advice on structuring a project: bounded reasoning, not a design for real code.
    out.add(1, 'advice on structuring a project');
  }
  if (!concept || P.recommends.test(text)) {
    if (P.designVerb.test(text, clauses) || P.howWouldYou.test(text)) out.add(2, 'system design');
    else if (P.architecture.test(text) && (!question || P.recommends.test(text))) out.add(2, 'architecture design');
  }
  if (!concept) {
    if (P.review.test(text)) {
      if (codeSize >= SUBSTANTIAL_CODE || t.codeLines >= 30 || P.reviewBig.test(text)) {
        out.add(2, 'review of substantial code');
      } else out.add(1, 'review of a small snippet');
    }
    if (outsideSpec(P.across, text, specStart) || P.acrossList.test(text, clauses)) out.add(2, 'spans several files or modules');
    if (outsideSpec(P.wholeProject, text, specStart)) out.add(2, 'whole-project change');
    if (P.manyDocsCount.test(text) || (P.manyDocs.test(text) && P.analysisVerb.test(text))) {
      if (P.analysisVerb.test(text) || contextChars > 0) out.add(2, 'analysis across many documents');
    }
    if ((P.feature.test(text) || (specStart < 0 && P.buildVerb.test(text, clauses))) && countLayers(text) >= 3) {
      out.add(2, 'feature across several layers');
    }
  }
  if (asks >= 3) out.add(2, `${asks} distinct asks`);
  const tradeoffs = P.tradeoffs.test(text);
  if (tradeoffs && (asks >= 2 || P.writeTarget.test(text, clauses))) out.add(2, 'ask plus trade-offs');

  if (target && P.bigBuild.test(target[1] ?? '')) out.add(2, 'asks to build a whole application');
  if (out.tier === 2) return text;

  // ---- Tier 1 ----
  const strongBrief = P.briefStrong.test(text);
  if (!concept || !strongBrief) {
    if (P.regex.test(t.full)) out.add(1, 'write or explain a regex');
    if (!concept && hasErrorText(t.full)) out.add(1, 'diagnose an error');
    else if (P.diagnose.test(text) && (!concept || P.why.test(text))) out.add(1, 'diagnose an error');
  }
  if (!concept) {
    if (P.summarize.test(text)) out.add(1, 'summarize');
    if (P.docsWrite.test(text)) out.add(1, 'write docs or a commit message');
    if (target || P.writeAny.test(text, clauses)) out.add(1, 'write code to a spec');
  }
  if (P.compare.test(text)) out.add(1, 'compare two options');
  if (tradeoffs) out.add(1, 'weigh trade-offs');
  const depth = P.depth.test(text);
  if (depth || P.explain.test(text)) {
    const brief = strongBrief || P.briefSoft.test(text);
    const oneLine = !depth && isAboutInlineCode(text, t);
    if (depth) out.add(1, 'explain in depth');
    else if (!brief && !oneLine) out.add(1, 'explain how something works');
  }
  if (t.codeLines >= 3 && !concept) out.add(1, `reasoning over pasted code (${t.codeLines} lines)`);
  if (material >= PASTED_MATERIAL) out.add(1, `reasoning over ${commas(material)} chars of pasted text`);
  if (asks === 2 && !concept && out.tier === 0 && text.length > 60) out.add(1, '2 distinct asks');
  const greeting = text.length < 60 && P.greeting.test(start);
  if (contextChars > 0 && !greeting && (deictic || P.changeGiven.test(text, clauses)) && !P.lookup.test(start)) {
    out.add(1, 'reasoning over attached code');
  }
  if (out.tier === 1) return text;

  // ---- Tier 0: say which kind of simple it is ----
  out.add(0, tier0Reason(text, start, t, { greeting, concept, howTo, strongBrief, contextChars }));
  return text;
}

/** errorText, or errorWord where its literals occur. */
function hasErrorText(full: string): boolean {
  return P.errorText.test(full) || ((full.includes('error') || full.includes('exception')) && P.errorWord.test(full));
}

/** Which kind of simple the prompt is, for the user-facing reason. */
function tier0Reason(
  text: string,
  start: string,
  t: Prepared,
  f: { greeting: boolean; concept: boolean; howTo: boolean; strongBrief: boolean; contextChars: number },
): string {
  if (f.greeting) return 'greeting or small talk';
  if (f.contextChars > 0 && P.lookup.test(start)) return 'lookup in attached context';
  if (f.strongBrief) return 'asks for a short answer';
  if (isAboutInlineCode(text, t)) return 'what one line does';
  if (f.howTo) return 'syntax or one-line how-to';
  if (f.concept && P.conceptNamed.test(text)) return 'question about a concept';
  return 'short factual question';
}

/** The question is about a short inline span of code (`x ??= []`), not about a function. */
function isAboutInlineCode(text: string, t: Prepared): boolean {
  if (t.codeLines > 0 || text.length >= 160 || text.includes('¶')) return false;
  const at = text.indexOf('§');
  return at >= 0 && text.indexOf('§', at + 1) < 0 && !P.notOneLine.test(text);
}

/**
 * "Convert this function to async/await" changes code structure; "convert this query to an ORM
 * call" translates a snippet (tier 1 in the rubric). `m` is `refactorChange`'s match in `text`.
 */
function changesStructure(text: string, m: RegExpExecArray | null): boolean {
  if (!m) return false;
  return !P.snippetObject.test(text.slice(m.index, m.index + 80).replace(P.leadingNonWord, ''));
}

/** Whether the pattern matches outside a small artifact's spec, i.e. before `specStart`. */
function outsideSpec(pattern: RegExp, text: string, specStart: number): boolean {
  const m = pattern.exec(text);
  return m !== null && (specStart < 0 || m.index < specStart);
}

/** Distinct asks: imperative clauses plus question clauses, or an enumerated list. */
function countAsks(text: string, clauses: number, hasQuestionMark: boolean, specStart: number): number {
  const verbs = P.imperativeAsk.count(text, clauses) + P.stepAsk.count(specStart < 0 ? text : text.slice(0, specStart), clauses);
  const wh = hasQuestionMark ? countMatches(P.whClause, text) : 0;
  const listed = countMatches(P.enumItem, text);
  return Math.max(verbs + wh, listed);
}

function countLayers(text: string): number {
  let seen = 0;
  const names: string[] = [];
  P.featureLayers.lastIndex = 0;
  for (let m = P.featureLayers.exec(text); m; m = P.featureLayers.exec(text)) {
    if (!names.includes(m[0])) {
      names.push(m[0]);
      seen++;
    }
  }
  return seen;
}

function countMatches(pattern: RegExp, text: string): number {
  let n = 0;
  pattern.lastIndex = 0;
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
    n++;
    // Clause patterns may match the empty-width start; step past to keep the scan linear.
    if (m[0].length === 0) pattern.lastIndex++;
  }
  return n;
}

/**
 * A long prompt with paragraphs is usually an ask wrapped around pasted material ("summarize
 * this:" + an article); the ask is its first and last paragraphs, and the material's own verbs
 * ("review", "migrate", bullet lists) are not asks.
 */
function askPart(prose: string): string {
  if (prose.length <= LONG_PROSE) return prose;
  const paragraphs = prose.split(P.paragraphBreak);
  if (paragraphs.length < 2) return prose;
  const first = paragraphs[0] ?? '';
  const intro = P.introLine.exec(first);
  const head = intro ? intro[0] : first.slice(0, ASK_PARAGRAPH);
  const last = paragraphs[paragraphs.length - 1] ?? '';
  const tail = last.length > ASK_PARAGRAPH ? last.slice(-ASK_PARAGRAPH) : last;
  // "summarize this:" + material, or material + "what do you make of the above?".
  const introduces = intro !== null || P.introducesMaterial.test(head);
  const refersBack = last.length < LONG_ASK && P.refersBack.test(tail);
  if (introduces && !refersBack) return head;
  if (refersBack && !introduces) return tail;
  return `${head}\n\n${tail}`;
}

/**
 * After a long preamble the user often waves it away ("anyway, not asking about that: what's the
 * flag…"); only the part after the last such marker is the ask.
 */
function focus(prose: string): string {
  if (prose.length < 160) return prose;
  let cut = -1;
  P.dismissal.lastIndex = 0;
  for (let m = P.dismissal.exec(prose); m; m = P.dismissal.exec(prose)) {
    if (m.index > 100) cut = m.index + m[0].length;
  }
  return cut > 0 && cut < prose.length - 10 ? prose.slice(cut) : prose;
}

function prepare(prompt: string): Prepared {
  let src = prompt;
  if (src.length > ANALYSE_WINDOW * 2) src = `${src.slice(0, ANALYSE_WINDOW)}\n${src.slice(-ANALYSE_WINDOW)}`;
  const full = src.toLowerCase();
  const hasQuestionMark = full.includes('?') || full.includes('？');
  if (!full.includes('\n') && !full.includes('`')) {
    return { prose: full, full, codeLines: 0, codeChars: 0, hasQuestionMark };
  }
  let codeLines = 0;
  let codeChars = 0;
  let prose = '';
  let inFence = false;
  for (const line of full.split('\n')) {
    if (line.trimStart().startsWith('```')) {
      inFence = !inFence;
      if (inFence) prose += ' ¶ ';
      continue;
    }
    // Inline code is masked first: a sentence quoting `a => b` is still prose.
    const masked = inFence ? line : line.replace(P.inlineCode, ' § ');
    if (inFence || P.codeLine.test(masked)) {
      codeLines++;
      codeChars += line.length + 1;
      if (!inFence) prose += ' ¶ ';
      continue;
    }
    prose += `${masked}\n`;
  }
  return { prose: prose.replace(P.codeRuns, ' ¶ '), full, codeLines, codeChars, hasQuestionMark };
}

function commas(n: number): string {
  return Math.round(n).toString().replace(P.thousands, ',');
}

/** Reasons grouped by the tier they argue for; the answer is the highest tier with a reason. */
export class Reasons {
  private readonly byTier: [string[], string[], string[]] = [[], [], []];

  /**
   * `tier` starts at `floor` (the fixed rules' tier) with no reasons of its own: the text rules
   * check the tier reached so far ("2 distinct asks" only lifts a tier-0 prompt).
   */
  constructor(public tier: Tier = 0) {}

  add(tier: Tier, reason: string): void {
    const list = this.byTier[tier];
    if (!list.includes(reason)) list.push(reason);
    if (tier > this.tier) this.tier = tier;
  }

  /** The reasons for `tier` (default: the highest tier with a reason). */
  at(tier: Tier = this.tier): readonly string[] {
    return this.byTier[tier];
  }

  result(): Classification {
    return { tier: this.tier, reasons: this.byTier[this.tier].slice(0, 4) };
  }
}

/** The scan behind `clausesIn`: one flat alternation of every clause pattern's leads. */
function buildLeadScan(leadsByPattern: readonly string[][]): { scan: RegExp; bits: Map<string, number>; all: number } {
  const owners = new Map<string, number>();
  leadsByPattern.forEach((leads, i) => {
    for (const lead of leads) owners.set(lead, (owners.get(lead) ?? 0) | (1 << i));
  });
  // Reverse lexical order puts a lead before its prefixes (`pull out`, `pull`), so at each position
  // the scan reports the longest lead there; every other lead there is a prefix of it, so its
  // patterns are credited too. It also keeps leads with a common start together, which irregexp
  // scans faster than the same leads by length.
  const leads = [...owners.keys()].sort().reverse();
  const bits = new Map<string, number>();
  for (const lead of leads) {
    let mask = 0;
    for (let end = 1; end <= lead.length; end++) mask |= owners.get(lead.slice(0, end)) ?? 0;
    bits.set(lead, mask);
  }
  const escaped = leads.map((lead) => lead.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const all = [...owners.values()].reduce((a, b) => a | b, 0);
  return { scan: re(String.raw`\b(?:${escaped.join('|')})`, 'g'), bits, all };
}

/**
 * The literal text each alternative of `alternation` starts with, up to its first regex syntax
 * (`analy[sz]e` → `analy`, `re-?design` → `re`, `(?:a|b)\bx` → `a`, `b`): a match of the
 * alternation starts with one of them. Throws on an alternative that starts with no literal word,
 * so a pattern edited out of that shape fails when the module loads instead of going unmatched.
 */
function literalLeads(alternation: string): string[] {
  const leads: string[] = [];
  for (const alternative of splitAlternatives(alternation)) {
    if (alternative.startsWith('(?:')) {
      const end = groupEnd(alternative);
      if (/^[?*{]/.test(alternative.slice(end + 1))) throw new Error(`optional leading group in ${alternative}`);
      leads.push(...literalLeads(alternative.slice(3, end)));
      continue;
    }
    let lead = /^[a-z' ]*/.exec(alternative)?.[0] ?? '';
    // `colou?r`: the quantified last character may be absent.
    if (/^[?*{]/.test(alternative.slice(lead.length))) lead = lead.slice(0, -1);
    if (!/^[a-z]/.test(lead)) throw new Error(`clause pattern alternative without a leading word: ${alternative}`);
    leads.push(lead);
  }
  return leads;
}

/** Top-level alternatives of a regex source. */
function splitAlternatives(source: string): string[] {
  const parts: string[] = [];
  let from = 0;
  scanGroups(source, (c, i, depth) => {
    if (c === '|' && depth === 0) {
      parts.push(source.slice(from, i));
      from = i + 1;
    }
  });
  parts.push(source.slice(from));
  return parts;
}

/** Index of the `)` closing the group that opens `source`. */
function groupEnd(source: string): number {
  const end = scanGroups(source, (c, _i, depth) => c === ')' && depth === 0);
  if (end < 0) throw new Error(`unbalanced group: ${source}`);
  return end;
}

/**
 * Visits the characters of a regex source that are neither escaped nor inside a character class,
 * with the group depth after each; stops at the first index `visit` returns true for (else -1).
 */
function scanGroups(source: string, visit: (c: string, i: number, depth: number) => boolean | void): number {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i] as string;
    if (c === '\\') i++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else {
      if (c === '(') depth++;
      else if (c === ')') depth--;
      if (visit(c, i, depth)) return i;
    }
  }
  return -1;
}
