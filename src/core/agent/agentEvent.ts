import type { ChatEvent } from '../chatEvent';

/** One tool call as the UI shows it: first `running`, then how it ended. */
export interface ToolStepEvent {
  type: 'tool_step';
  /** The call's id, so the UI can update the same entry when it ends. */
  id: string;
  name: string;
  args: Record<string, unknown>;
  status: 'running' | 'done' | 'denied' | 'error';
  /** What the tool returned (or why it failed / was denied), as the model sees it. */
  result?: string;
}

/** Something the user should know about the run that is neither an answer nor an error (tools off, step limit). */
export interface NoticeEvent {
  type: 'notice';
  message: string;
}

/** What `AgentLoop.run()` streams: the coordinator's events plus the agent's own. */
export type AgentEvent = ChatEvent | ToolStepEvent | NoticeEvent;
