import * as path from 'node:path';

export interface TestTarget {
  /** The test framework's name as the prompt tells the model. */
  framework: string;
  /** Where the test file goes: next to the code, named as the framework expects. */
  testFile: string;
  /** Markdown fence tag for the answer. */
  fence: string;
}

/**
 * Decides which framework the generated tests use and where they go, from the source file and
 * the dependencies of the nearest package.json (passed in, so this stays pure).
 */
export function testTargetFor(sourceFile: string, languageId: string, packageJson?: { dependencies?: Record<string, string>; devDependencies?: Record<string, string> }): TestTarget {
  const dir = path.dirname(sourceFile);
  const ext = path.extname(sourceFile);
  const base = path.basename(sourceFile, ext);
  if (languageId === 'python') return { framework: 'pytest', testFile: path.join(dir, `test_${base}.py`), fence: 'python' };
  if (languageId === 'go') return { framework: 'Go testing package', testFile: path.join(dir, `${base}_test.go`), fence: 'go' };
  if (languageId === 'rust') return { framework: 'Rust #[cfg(test)] module', testFile: path.join(dir, `${base}_test.rs`), fence: 'rust' };
  const deps = { ...packageJson?.dependencies, ...packageJson?.devDependencies };
  const framework = ['vitest', 'jest', 'mocha'].find((name) => name in deps) ?? (languageId.startsWith('typescript') || languageId.startsWith('javascript') ? 'node:test' : 'the usual framework of the language');
  const fence = languageId.startsWith('typescript') ? 'ts' : languageId.startsWith('javascript') ? 'js' : languageId;
  return { framework, testFile: path.join(dir, `${base}.test${ext}`), fence };
}
