/** One match of `Workspace.search`. */
export interface SearchHit {
  /** Relative to the first root, with `/` separators. */
  path: string;
  /** 1-based. */
  line: number;
  text: string;
}

/**
 * The files the agent may touch. Every path goes through a confinement check: relative paths are
 * resolved against the first root; anything that ends up outside every root (`..`, an absolute
 * path elsewhere, a symlink whose target is elsewhere, a NUL byte) is a `WorkspaceError`.
 * `NodeWorkspace` implements it over Node's fs (tests, CLI), `VscodeWorkspace` over the editor.
 */
export interface Workspace {
  readonly roots: readonly string[];
  /** The file's text, or undefined when it does not exist. */
  readFile(path: string): Promise<string | undefined>;
  /** Creates parent folders as needed. */
  writeFile(path: string, content: string): Promise<void>;
  /** Entries under a folder, relative to the first root; folders end with `/`. */
  listFiles(path: string, opts?: { recursive?: boolean; limit?: number }): Promise<string[]>;
  /** Case-insensitive literal search over text files. */
  searchFiles(query: string, opts?: { path?: string; limit?: number }): Promise<SearchHit[]>;
  /** The real absolute path of a folder inside the workspace, for a command's cwd. */
  resolveDirectory(path: string): Promise<string>;
}
