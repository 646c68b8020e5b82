export const families = {
  fact: 0,
  cmd: 0,
  concept: 0,
  greet: 0,
  oneliner: 0,
  lookup: 0,
  c0: 0,
  explain: 1,
  diagnose: 1,
  func: 1,
  regex: 1,
  docs: 1,
  translate: 1,
  compare: 1,
  summarize: 1,
  c1: 1,
  material: 1,
  refactor: 2,
  tests: 2,
  design: 2,
  audit: 2,
  migrate: 2,
  feature: 2,
  multi: 2,
  manydocs: 2,
  c2: 2,
} as const;

export type Family = keyof typeof families;

/** Seed prompts by rubric family; a language need not have every family. */
export type SeedTable = Partial<Record<Family, string[]>>;
