/** What the user answers to a command: run it this once, run it again without asking this session, or not at all. */
export type CommandApproval = 'once' | 'session' | 'deny';

/**
 * Asks the user before the agent writes or executes anything. The VS Code layer shows a diff and a
 * modal; the CLI asks on the terminal; tests script the answers.
 */
export interface Approver {
  /** `before` is undefined for a new file. True means write it. */
  approveEdit(request: { path: string; before: string | undefined; after: string }): Promise<boolean>;
  approveCommand(request: { command: string; cwd: string }): Promise<CommandApproval>;
}
