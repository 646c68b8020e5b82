#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { version } from '../../package.json';
import { registerChatCommand } from './chatCommand';
import { CliExit } from './cliContext';
import { registerClassifyCommand } from './classifyCommand';
import { registerClusterCommands } from './clusterCommands';
import { registerConfigCommand } from './configCommand';
import { registerNodeCommands } from './nodeCommands';
import { registerServeCommand } from './serveCommand';
import { registerStartCommand } from './startCommand';

function buildProgram(): Command {
  const program = new Command('harombe')
    .description('Harombe: one assistant over your cluster of LLM nodes (Ollama, OpenAI-compatible, harombe workers)')
    .version(version, '-V, --version')
    .option('-c, --config <file>', 'harombe.yaml to use (default: $HAROMBE_CONFIG, else .harombe/harombe.yaml over ~/.harombe/harombe.yaml)')
    .option('-v, --verbose', 'log what the coordinator does to stderr')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerClusterCommands(program);
  registerChatCommand(program);
  registerClassifyCommand(program);
  registerConfigCommand(program);
  registerNodeCommands(program);
  registerServeCommand(program);
  registerStartCommand(program);
  return program;
}

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CliExit) {
      if (err.message) process.stderr.write(err.message.endsWith('\n') ? err.message : err.message + '\n');
      return err.code;
    }
    if (err instanceof CommanderError) {
      // Help and version exit 0; usage errors were already printed by commander.
      return err.exitCode === 0 ? 0 : 2;
    }
    process.stderr.write(`harombe: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}

void main(process.argv).then((code) => {
  process.exitCode = code;
  // Sockets and timers are closed by the commands; exit explicitly so a stray keep-alive never holds the terminal.
  setImmediate(() => process.exit(code));
});
