import type { Approver, CommandApproval } from '../../../src/core/agent/approver';

/** An Approver that answers from a script and records what it was asked. */
export class ScriptedApprover implements Approver {
  readonly edits: { path: string; before: string | undefined; after: string }[] = [];
  readonly commands: { command: string; cwd: string }[] = [];

  constructor(private readonly answers: { edit?: boolean; command?: CommandApproval } = {}) {}

  async approveEdit(request: { path: string; before: string | undefined; after: string }): Promise<boolean> {
    this.edits.push(request);
    return this.answers.edit ?? false;
  }

  async approveCommand(request: { command: string; cwd: string }): Promise<CommandApproval> {
    this.commands.push(request);
    return this.answers.command ?? 'deny';
  }
}
