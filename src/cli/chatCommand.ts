import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { Option, type Command } from 'commander';
import pc from 'picocolors';
import type { ChatEvent } from '../core/chatEvent';
import type { Coordinator } from '../core/coordinator';
import { Conversation } from '../core/conversation';
import { intents, type Intent, type Tier } from '../core/routing/classification';
import { CliExit, globalOptions, openCoordinator } from './cliContext';
import { AnswerWriter } from './answerWriter';
import { contextNotices } from '../core/routing/contextNotices';

interface ChatOptions {
  tier: string;
  intent: Intent;
  contextFile?: string;
  json?: boolean;
  showThinking?: boolean;
}

/** `harombe chat`: one prompt, or an interactive session that keeps the conversation. */
export function registerChatCommand(program: Command): void {
  program
    .command('chat')
    .description('Ask the cluster; the answer streams to stdout, the route (node, tier, why) goes to stderr')
    .argument('[prompt...]', 'the prompt; without it, an interactive session (or the whole of stdin when it is piped)')
    .addOption(new Option('--tier <tier>', 'force a tier instead of the classifier').choices(['auto', '0', '1', '2']).default('auto'))
    .addOption(new Option('--intent <intent>', 'what kind of task (code actions use refactor/tests/…)').choices([...intents]).default('chat'))
    .option('--context-file <file>', 'attach a file as context')
    .option('--json', 'print one JSON event a line (route, thinking, delta, fallback, done, error) instead of text')
    .option('--show-thinking', "print a reasoning model's reasoning to stderr, dimmed (stdout keeps only the answer)")
    .action(async (words: string[], opts: ChatOptions, cmd: Command) => {
      const tier: Tier | 'auto' = opts.tier === 'auto' ? 'auto' : (Number(opts.tier) as Tier);
      let context: { label: string; text: string } | undefined;
      if (opts.contextFile) {
        try {
          context = { label: basename(opts.contextFile), text: readFileSync(opts.contextFile, 'utf8') };
        } catch (err) {
          throw new CliExit(2, `--context-file: cannot read ${opts.contextFile}: ${(err as Error).message}`);
        }
      }
      let prompt = words.join(' ').trim();
      const interactive = prompt === '' && process.stdin.isTTY === true;
      if (prompt === '' && !interactive) prompt = (await readStdin()).trim();
      if (!interactive && prompt === '') throw new CliExit(2, 'Nothing to ask: give a prompt, pipe one on stdin, or run in a terminal for an interactive session.');

      const ctx = openCoordinator(globalOptions(cmd), { browse: 'config' });
      try {
        // Trusted workers on the LAN answer a browse within about a second; route only once they had the chance.
        if (ctx.coordinator.discovery) await new Promise((r) => setTimeout(r, 1500));
        // One sweep first, so the first prompt is routed on fresh health instead of on "unknown".
        await ctx.coordinator.prober.sweep();
        const conversation = new Conversation({ systemPrompt: ctx.config.agent.system_prompt });
        if (!interactive) {
          const ok = await runTurn(ctx.coordinator, conversation, prompt, { tier, intent: opts.intent, context, json: opts.json === true, showThinking: opts.showThinking === true });
          if (!ok) throw new CliExit(1);
          return;
        }
        await interactiveSession(ctx.coordinator, conversation, { tier, intent: opts.intent, context, json: opts.json === true, showThinking: opts.showThinking === true });
      } finally {
        ctx.close();
      }
    });
}

async function interactiveSession(
  coordinator: Coordinator,
  conversation: Conversation,
  opts: { tier: Tier | 'auto'; intent: Intent; context?: { label: string; text: string }; json: boolean; showThinking: boolean },
): Promise<void> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  process.stderr.write(pc.dim('Harombe chat. Empty line does nothing, Ctrl+C cancels an answer, Ctrl+D or /exit quits, /new starts over.\n'));
  let context = opts.context;
  try {
    for (;;) {
      let line: string;
      try {
        line = (await rl.question(pc.bold('› '))).trim();
      } catch {
        return; // Ctrl+D / closed stdin
      }
      if (line === '') continue;
      if (line === '/exit' || line === '/quit') return;
      if (line === '/new') {
        conversation.messages.splice(0, conversation.messages.length, ...conversation.messages.filter((m) => m.role === 'system'));
        conversation.lastNode = undefined;
        process.stderr.write(pc.dim('New conversation.\n'));
        continue;
      }
      const abort = new AbortController();
      const onSigint = () => abort.abort();
      rl.once('SIGINT', onSigint);
      await runTurn(coordinator, conversation, line, { ...opts, context, signal: abort.signal });
      rl.off('SIGINT', onSigint);
      context = undefined; // attached once, then it is part of the history
    }
  } finally {
    rl.close();
  }
}

/** Runs one turn; returns false when it ended in an error. */
async function runTurn(
  coordinator: Coordinator,
  conversation: Conversation,
  prompt: string,
  opts: { tier: Tier | 'auto'; intent: Intent; context?: { label: string; text: string }; json: boolean; showThinking: boolean; signal?: AbortSignal },
): Promise<boolean> {
  const writer = opts.json ? undefined : new AnswerWriter(process.stdout);
  const thinking = { show: opts.showThinking, open: false };
  let ok = false;
  for await (const event of coordinator.chat({ conversation, prompt, tier: opts.tier, intent: opts.intent, context: opts.context, signal: opts.signal })) {
    if (opts.json) {
      process.stdout.write(JSON.stringify(event) + '\n');
      if (event.type === 'done') ok = true;
      continue;
    }
    ok = renderEvent(event, writer as AnswerWriter, thinking) || ok;
  }
  return ok;
}

/**
 * Prints one event. The answer alone goes to stdout, so `harombe chat … > file` and pipes get the
 * answer and never a reasoning model's draft; with `--show-thinking` the reasoning streams to
 * stderr, dimmed, ended by a line break before the answer starts.
 */
function renderEvent(event: ChatEvent, writer: AnswerWriter, thinking: { show: boolean; open: boolean }): boolean {
  if (thinking.open && event.type !== 'thinking') {
    process.stderr.write('\n');
    thinking.open = false;
  }
  switch (event.type) {
    case 'thinking':
      if (!thinking.show) return false;
      if (!thinking.open) process.stderr.write(pc.dim('thinking: '));
      thinking.open = true;
      process.stderr.write(pc.dim(event.text));
      return false;
    case 'route':
      process.stderr.write(
        pc.dim(`→ tier ${event.tier} · ${event.node} (${event.model}) · ${event.reasons.join(', ')} · ${event.nodeReason}`) +
          (event.tier !== event.requestedTier ? pc.yellow(` · tier ${event.requestedTier} unavailable`) : '') +
          '\n',
      );
      {
        const omitted = contextNotices.omitted(event);
        if (omitted) process.stderr.write(pc.yellow(`… ${omitted}\n`));
      }
      return false;
    case 'delta':
    case 'wire':
      writer.write(event.text);
      return false;
    case 'tool_calls':
      writer.write(`\n[tool calls: ${event.calls.map((c) => c.name).join(', ')}]\n`);
      return false;
    case 'fallback':
      if (event.discardPartial) writer.discard();
      process.stderr.write(pc.yellow(`↻ ${event.from} failed (${event.reason}); continuing on ${event.to} (tier ${event.tier})${event.discardPartial ? ', answer restarted' : ''}\n`));
      return false;
    case 'done':
      writer.finish();
      process.stderr.write(
        pc.dim(
          `✓ ${event.node} · tier ${event.tier} · first token ${Math.round(event.timing.ttftMs)} ms · ${Math.round(event.timing.totalMs)} ms` +
            (event.timing.thinkingMs !== undefined ? ` · reasoning ${Math.round(event.timing.thinkingMs)} ms` : '') +
            (event.tokens.perSecond ? ` · ${event.tokens.perSecond.toFixed(1)} tok/s` : '') +
            (event.timing.fallbacks ? ` · ${event.timing.fallbacks} fallback${event.timing.fallbacks > 1 ? 's' : ''}` : '') +
            '\n',
        ),
      );
      {
        // Not an answer to the whole prompt: said, and a one-shot run exits 1.
        const truncated = contextNotices.truncated(event);
        if (truncated) process.stderr.write(pc.red(`⚠ ${truncated}\n`));
        return !truncated;
      }
    case 'error':
      writer.finish();
      process.stderr.write(pc.red(`✗ ${event.message}\n`));
      return false;
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
