/** The user (through the Approver) refused a write or a command; the tool did nothing. */
export class ToolDeniedError extends Error {
  override readonly name = 'ToolDeniedError';
  readonly tool: string;

  constructor(tool: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.tool = tool;
  }
}
