/*
 * Word stems that name the rubric's concepts (design, refactor, tests, an error…) in the ten
 * languages of the routing corpus. They decide nothing: each concept present is a signal for the
 * learned model, one weight shared by every language, so what the model learns from a German
 * design question also moves a Korean one. Stems are general vocabulary, lower-case, matched
 * anywhere in a word (inflections and compounds: "umstrukturieren", "리팩토링해줘").
 */
const lexicon: Record<string, readonly string[]> = {
  restructure: [
    'refactor', 'refatora', 'refatore', 'refactoriz', 'refactoris', 'рефактор', '重构', '重構', 'リファクタ', '리팩토링', '리팩터',
    'restructur', 'umstruktur', 'reestructur', 'reestrutur', 'aufräum', 'clean up', 'untangle', 'entwirr', 'desenred', 'desembaraç',
    'démêl', 'распута', 'розплута', 'spaghetti', 'espagueti', 'espaguete', 'спагет', 'スパゲッティ', '스파게티', 'duplicat',
    'repetitiv', 'répétitif', 'повторя', 'повторю', '重复', '重複', '중복', 'break it up', 'split this', 'zerleg', 'découp',
    'раздели', 'розділи', 'разбей', 'розбий', '拆', '分割', '쪼개', 'composition', 'komposition', 'composición', 'composição',
    'композиц', '组合', 'コンポジション', '컴포지션', 'moderni', 'модерниз', 'vanilla js',
  ],
  tests: [
    'unit test', 'tests', 'testes', 'pruebas', 'тест', '测试', '測試', '单测', 'テスト', '테스트', 'pytest', 'jest', 'junit', 'regress',
  ],
  design: [
    'design', 'entw', 'diseñ', 'projeta', 'projete', 'conçoi', 'concev', 'architekt', 'arquitet', 'arquitect', 'architect',
    'архитект', 'архітект', 'спроект', 'спроєкт', 'проектир', 'продумай', '设计', '設計', '설계', '아키텍처', 'アーキテクチャ',
    '架构', 'trade-off', 'tradeoff', 'abwägung', 'compromis', 'компромис', 'компроміс', '权衡', '取舍', 'トレードオフ', '트레이드오프',
    'pros and cons', 'nachteil', 'contras', 'inconvénient', 'плюс', 'мінус', '优缺点', '長所', '장단점', 'strateg', 'стратег',
    '战略', '策略', '戦略', '전략', 'schema', 'esquema', 'schéma', 'схем', 'スキーマ', '스키마', '方案', '選択肢', '선택지',
  ],
  migrate: [
    'migr', 'мигр', 'мігр', '迁移', '移行', '마이그레이션', 'umstell', 'umzieh', 'upgrade', '升级', 'アップグレード', '업그레이드',
    'passer tous', 'switch every', '换成', '切り替え', '옮기', '옮겨', 'переведи', 'перевести',
  ],
  whole: [
    'whole', 'entire', 'every ', 'all our', 'across', 'ganze', 'gesamt', 'komplett', 'allen', 'alle ', 'todo el', 'toda la', 'todos',
    'todas', 'inteiro', 'inteira', 'tout le', 'toute', 'tous les', 'весь ', 'всём', 'всех', 'все ', 'увесь', 'всьому', 'усі', 'всі',
    'усіх', '整个', '所有', '全部', '全体', '全て', '全サービス', '全モジュール', '전체', '모든', '전부', 'end to end', 'de punta a punta',
    'de ponta a ponta', 'de bout en bout', 'от начала до конца', 'від початку до кінця', '从头到尾', '一通り', '처음부터 끝까지',
  ],
  audit: [
    'audit', 'аудит', '审计', '監査', '감사', 'review', 'ревью', 'рев\'ю', '审查', '评审', 'レビュー', '리뷰', 'security', 'sicherheit',
    'segurid', 'seguran', 'sécurité', 'безопасн', 'безпек', '安全', 'セキュリティ', '보안', 'vulnerab', 'lücke', 'agujero', 'falha',
    'faille', 'дыр', 'дір', '漏洞', '취약', 'xss', 'csrf', 'injection', 'inyecc', 'инъекц', 'ін\'єкц', '注入', 'インジェクション',
    '인젝션', 'bottleneck', 'flaschenh', 'cuello', 'gargalo', 'goulot', 'узкие', 'вузькі', '瓶颈', 'ボトルネック', '병목', 'leak',
    'утека', 'витіка', '泄露', '漏れ', '새는', 'race condition', 'гонк', '竞态', '競合', '레이스',
  ],
  layers: [
    'frontend', 'backend', 'front', 'фронт', 'бэкенд', 'бекенд', '前端', '后端', 'フロント', 'バックエンド', '프론트', '백엔드',
    'endpoint', 'эндпоинт', 'ендпоінт', '接口', 'エンドポイント', '엔드포인트', 'tabelle', 'tabla', 'tabela', 'table', 'таблиц',
    'テーブル', '테이블', '表', 'worker', 'воркер', 'ワーカー', '워커', 'admin', 'админ', 'адмін', '管理', 'template', 'шаблон', '模板',
    'テンプレート', '템플릿', 'client', 'клиент', 'клієнт', '客户端', 'クライアント', '클라이언트',
  ],
  explain: [
    'explain', 'erklär', 'explic', 'expliq', 'объясн', 'поясн', 'расскажи', 'розкажи', '解释', '解釋', '讲', '说说', '説明', '教えて',
    '설명', 'how does', 'how do', 'wie funktioniert', 'funciona', 'fonctionne', 'marche', 'работает', 'працює', 'устроен',
    'влаштован', '怎么工作', '原理', '仕組み', 'どう動', '동작', '돌아가', 'walk me through', 'step by step', 'schritt für schritt',
    'paso a paso', 'passo a passo', 'étape par étape', 'по шагам', 'крок за кроком', '一步一步', '順を追って', '단계별', 'under the hood',
    'intern', 'por dentro', '内部',
  ],
  depth: [
    'in detail', 'in depth', 'ausführlich', 'im detail', 'detalle', 'detalhe', 'détail', 'profondeur', 'a fondo', 'a fundo',
    'подробно', 'детально', 'докладно', '详细', '詳しく', '深入', '深掘り', '자세히', '깊게', 'properly', 'richtig', 'bien', 'direito',
    'нормально', 'як слід', '好好', 'ちゃんと', '제대로', 'go deep',
  ],
  write: [
    'write', 'schreib', 'escrib', 'escrev', 'écri', 'напиш', '写', '書いて', '짜줘', '작성', '만들어', 'implement', 'реализ', 'реаліз',
    '实现', '実装', '구현', 'function', 'funktion', 'función', 'função', 'fonction', 'функци', 'функці', '函数', '関数', '함수', 'func',
    'script', 'skript', 'скрипт', '脚本', 'スクリプト', '스크립트', 'class', 'klasse', 'clase', 'classe', 'класс', 'клас', '类',
    'クラス', '클래스', 'regex', 'regul', 'регуляр', '正则', '正規表現', '정규',
  ],
  error: [
    'error', 'fehler', 'erro', 'erreur', 'ошибк', 'помилк', '报错', '错误', 'エラー', '에러', '오류', 'why', 'warum', 'por qué',
    'por que', 'pourquoi', 'почему', 'чому', '为什么', '为啥', 'なぜ', 'なんで', '왜', 'traceback', 'exception', 'panic', 'failed',
    'fails', 'падает', 'падає', '挂了', '落ちる', '실패', 'woran', 'qué puede ser', 'o que pode ser', 'ça peut venir', 'в чём',
    'в чому', '什么原因', '原因', '원인', 'idea', 'idee', 'идеи', 'ідеї', '心当たり', '짐작', 'wrong', 'falsch', 'errado',
    'travers', 'не так', '哪里', '間違', '잘못',
  ],
  compare: [
    ' vs', 'versus', ' oder ', ' or ', ' o ', ' ou ', ' или ', ' чи ', '还是', 'どっち', 'どちら', '중에', '이야', 'differen', 'unterschied',
    'diferen', 'différence', 'разниц', 'різниц', '区别', '違い', '차이', 'schneller', 'faster', 'más rápido', 'mais rápido',
    'plus rapide', 'быстрее', 'швидш', '快吗', '速い', '빨라',
  ],
  summary: [
    'summar', 'tl;dr', 'gist', 'zusammenfass', 'worum geht', 'resum', 'résum', 'перескаж', 'резюм', 'підсум', 'главное',
    'головне', 'de qué va', 'do que se trata', 'de quoi parle', 'о чём', 'про що', '总结', '摘要', '要点', '要約', 'まとめ', '요약',
    '핵심', '是干嘛的', '何をするもの', '뭐 하는 건지',
  ],
  concept: [
    'what is', 'what does', 'whats', 'what\'s', 'was ist', 'was bedeutet', 'was heißt', 'was versteht', 'qué es', 'que es',
    'qué significa', 'o que é', 'o que significa', 'c\'est quoi', 'que veut dire', 'что такое', 'что значит', 'что означает',
    'що таке', 'що означає', '什么是', '是什么', '什么意思', 'とは', 'って何', '뭐야', '무슨 뜻', 'mean', 'bedeutet', 'significa',
    'signifie', 'означа', '意思', '意味', '뜻', 'same as', 'dasselbe', 'lo mismo', 'mesma coisa', 'pareil', 'то же самое',
    'те саме', '一回事', '同じ', '같은 거',
  ],
  command: [
    'command', 'cmd', 'befehl', 'comando', 'commande', 'команд', '命令', 'コマンド', '명령어', 'shortcut', 'tastenkürzel', 'atajo',
    'atalho', 'raccourci', 'горяч', 'гаряч', '快捷键', 'ショートカット', '단축키', 'git ', 'docker', 'kubectl', 'npm ', 'terraform',
    'pytest', 'one liner', 'one-liner',
  ],
  steps: [
    '1)', '2)', '3)', '1）', '2）', '3）', 'then', 'dann', 'luego', 'depois', 'puis', 'потом', 'потім', '然后', '再', 'それから', '하고',
    'and tell', 'und sag', 'y dime', 'e me diz', 'et dis-moi', 'и скажи', 'і скажи', 'и расскажи', 'і розкажи', '告诉我', '教えて',
    '알려줘', 'and update', 'und aktualis', 'y actualiza', 'e atualiza', 'et mets à jour', 'и обнови', 'і онови', '更新', '업데이트',
  ],
  documents: [
    'papers', 'paper', 'artikel', 'artículo', 'artigo', 'articles', 'стат', '论文', '論文', '논문', 'report', 'informe', 'relatório',
    'rapport', 'отчёт', 'звіт', '报告', '報告', '보고서', 'postmortem', 'постмортем', '复盘', 'ポストモーテム', '포스트모템', 'rfc',
    'spec', 'спек', 'специф', '规范', 'スペック', '스펙', 'microservic', 'микросервис', 'мікросервіс', '微服务', 'マイクロサービス',
    '마이크로서비스',
  ],
  keepBehaviour: [
    'behaviour', 'behavior', 'verhalten', 'comportamiento', 'comportamento', 'comportement', 'поведени', 'поведінк', '行为',
    '動作を変えず', '動作のまま', '동작은 그대로', 'same api', 'public api', 'same output',
  ],
  translate: [
    'translat', 'übersetz', 'traduc', 'traduz', 'tradui', 'переведи этот', 'переклади', '翻译', '翻訳', '번역', 'convert', 'konvert',
    'convierte', 'converte', 'convertis', 'преобраз', 'перетвор', '转成', '转换', '変換', '바꿔줘', 'port this', 'pasa este', 'passa esse',
    'mach aus', 'wandle', 'turn this',
  ],
  lookup: [
    'which line', 'what line', 'welche zeile', 'welcher zeile', 'qué línea', 'que línea', 'qual linha', 'quelle ligne', 'какой строке',
    'якому рядку', '哪一行', '何行目', '몇 번째 줄', 'what language', 'welcher sprache', 'qué lenguaje', 'que linguagem',
    'quel langage', 'каком языке', 'якою мовою', '什么语言', '何の言語', '무슨 언어', 'does this file', 'import',
  ],
  greeting: [
    'thank', 'thx', 'danke', 'gracias', 'valeu', 'obrigad', 'merci', 'спасибо', 'спс', 'дякую', '谢谢', '谢啦', 'ありがとう', '助かり',
    '고마워', '감사', 'hello', 'hallo', 'hola', 'bonjour', 'salut', 'привет', 'привіт', '你好', 'こんにちは', '안녕', 'morning',
    'guten', 'buenas', 'bom dia', 'доброе', 'добрий', '早上好', 'おはよう', '좋은 아침', 'moin',
  ],
};

/** The lexicon's concept names, in bit order. */
export const concepts: readonly string[] = Object.keys(lexicon);

const stemConcept = new Map<string, number>();
for (const [i, name] of concepts.entries()) for (const stem of lexicon[name] ?? []) stemConcept.set(stem, (stemConcept.get(stem) ?? 0) | (1 << i));

// Longest stems first, so a stem that contains another ("unit test", "test") wins where both start.
const scan = new RegExp(
  [...stemConcept.keys()]
    .sort((a, b) => b.length - a.length)
    .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('|'),
  'g',
);

/** Bit i set: concept i of `concepts` is named in `text` (lower-case). */
export function conceptsIn(text: string): number {
  let found = 0;
  scan.lastIndex = 0;
  for (let m = scan.exec(text); m; m = scan.exec(text)) {
    found |= stemConcept.get(m[0]) ?? 0;
    // Resume inside the match: a shorter stem of another concept may start there.
    scan.lastIndex = m.index + 1;
  }
  return found;
}
