import * as z from 'zod';
import type { HarombeConfig } from '../config/schema';
import type { AgentTool } from './agentTool';
import type { Approver } from './approver';
import { runShell } from './runShell';
import { ToolDeniedError } from './toolDeniedError';
import type { Workspace } from './workspace';

export interface AgentToolsOptions {
  workspace: Workspace;
  approver: Approver;
  tools: HarombeConfig['tools'];
  /** Per command; default 60 s. */
  shellTimeoutMs?: number;
  /** Output kept per command; default 64 KiB. */
  shellMaxBytes?: number;
}

const pathArg = z.string().min(1);

/**
 * The built-in tools, as far as the config allows: reading is free inside the workspace; writing
 * and running commands ask the Approver first unless `tools.confirm_dangerous` is false. That
 * switch is a real risk: the model (or text it read, such as a file or a web page pasted into the
 * chat) can then change any file in the workspace and run any command as the user, unasked.
 */
export function createAgentTools(opts: AgentToolsOptions): AgentTool[] {
  const { workspace, approver } = opts;
  const confirm = opts.tools.confirm_dangerous;
  const tools: AgentTool[] = [];
  // Commands the user allowed "for this session", by cwd and exact text: a different command asks again.
  const sessionCommands = new Set<string>();

  const writeApproved = async (tool: string, path: string, before: string | undefined, after: string) => {
    if (confirm && !(await approver.approveEdit({ path, before, after }))) {
      throw new ToolDeniedError(tool, `${tool} ${path} was not approved; the file is unchanged.`);
    }
    await workspace.writeFile(path, after);
  };

  if (opts.tools.filesystem) {
    tools.push(
      {
        definition: {
          name: 'read_file',
          description: 'Read a text file of the workspace. Paths are relative to the workspace root.',
          parameters: { type: 'object', properties: { path: { type: 'string', description: 'File path relative to the workspace root' } }, required: ['path'] },
        },
        async run(args) {
          const { path } = z.object({ path: pathArg }).parse(args);
          const text = await workspace.readFile(path);
          if (text === undefined) throw new Error(`${path} does not exist.`);
          return text;
        },
      },
      {
        definition: {
          name: 'list_files',
          description: 'List files and folders (folders end with /) under a folder of the workspace.',
          parameters: {
            type: 'object',
            properties: { path: { type: 'string', description: 'Folder relative to the workspace root; default "."' }, recursive: { type: 'boolean' } },
          },
        },
        async run(args) {
          const { path, recursive } = z.object({ path: z.string().default('.'), recursive: z.boolean().default(false) }).parse(args);
          const entries = await workspace.listFiles(path, { recursive });
          return entries.length ? entries.join('\n') : '(empty)';
        },
      },
      {
        definition: {
          name: 'search_files',
          description: 'Search the text files of the workspace for a literal string (case-insensitive). Returns path:line: text.',
          parameters: { type: 'object', properties: { query: { type: 'string' }, path: { type: 'string', description: 'Folder to search; default the whole workspace' } }, required: ['query'] },
        },
        async run(args) {
          const { query, path } = z.object({ query: z.string().min(1), path: z.string().optional() }).parse(args);
          const hits = await workspace.searchFiles(query, { path });
          return hits.length ? hits.map((h) => `${h.path}:${h.line}: ${h.text}`).join('\n') : 'No matches.';
        },
      },
      {
        definition: {
          name: 'write_file',
          description: 'Create or overwrite a file of the workspace with the given content. The user reviews a diff first.',
          parameters: { type: 'object', properties: { path: { type: 'string' }, content: { type: 'string' } }, required: ['path', 'content'] },
        },
        async run(args) {
          const { path, content } = z.object({ path: pathArg, content: z.string() }).parse(args);
          const before = await workspace.readFile(path);
          await writeApproved('write_file', path, before, content);
          return `Wrote ${path} (${content.length} characters).`;
        },
      },
      {
        definition: {
          name: 'edit_file',
          description: 'Replace one exact occurrence of old_text with new_text in a file of the workspace. The user reviews a diff first.',
          parameters: {
            type: 'object',
            properties: { path: { type: 'string' }, old_text: { type: 'string' }, new_text: { type: 'string' } },
            required: ['path', 'old_text', 'new_text'],
          },
        },
        async run(args) {
          const { path, old_text, new_text } = z.object({ path: pathArg, old_text: z.string().min(1), new_text: z.string() }).parse(args);
          const before = await workspace.readFile(path);
          if (before === undefined) throw new Error(`${path} does not exist.`);
          const at = before.indexOf(old_text);
          if (at < 0) throw new Error(`old_text was not found in ${path}.`);
          if (before.indexOf(old_text, at + 1) >= 0) throw new Error(`old_text occurs more than once in ${path}; include more context.`);
          const after = before.slice(0, at) + new_text + before.slice(at + old_text.length);
          await writeApproved('edit_file', path, before, after);
          return `Edited ${path}.`;
        },
      },
    );
  }

  if (opts.tools.shell) {
    tools.push({
      definition: {
        name: 'run_shell',
        description: 'Run a shell command in a folder of the workspace and return its exit code and output. The user approves each command.',
        parameters: { type: 'object', properties: { command: { type: 'string' }, cwd: { type: 'string', description: 'Folder relative to the workspace root; default "."' } }, required: ['command'] },
      },
      async run(args, ctx) {
        const { command, cwd } = z.object({ command: z.string().min(1), cwd: z.string().default('.') }).parse(args);
        if (command.includes('\0')) throw new Error('The command contains a NUL byte.');
        const dir = await workspace.resolveDirectory(cwd);
        const key = `${dir}\0${command}`;
        if (confirm && !sessionCommands.has(key)) {
          const answer = await approver.approveCommand({ command, cwd: dir });
          if (answer === 'deny') throw new ToolDeniedError('run_shell', `the command was not approved and did not run.`);
          if (answer === 'session') sessionCommands.add(key);
        }
        const r = await runShell(command, { cwd: dir, timeoutMs: opts.shellTimeoutMs ?? 60_000, maxBytes: opts.shellMaxBytes ?? 64 * 1024, signal: ctx.signal });
        const status = r.timedOut ? `timed out after ${Math.round((opts.shellTimeoutMs ?? 60_000) / 1000)} s` : `exit code ${r.exitCode}`;
        return `${status}${r.truncated ? ' (output cut)' : ''}\n${r.output}`;
      },
    });
  }
  return tools;
}
