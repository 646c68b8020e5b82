/**
 * A path the agent asked for is not allowed (outside the workspace, through a symlink that leaves
 * it, a NUL byte) or does not exist. The message is written for the model, which sees it as the
 * tool's result and can correct itself.
 */
export class WorkspaceError extends Error {
  override readonly name = 'WorkspaceError';
  readonly code: 'outside' | 'invalid' | 'not_found' | 'not_a_file' | 'too_large';

  constructor(code: WorkspaceError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
