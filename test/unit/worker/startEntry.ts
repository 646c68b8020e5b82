/**
 * `harombe start` as the CLI runs it, for tests that need a real process (exit codes, signals,
 * network namespaces) before or without the real entry: the same global options and the same
 * error-to-exit-code rules as src/cli/main.ts.
 */
import { Command, CommanderError } from 'commander';
import { registerStartCommand } from '../../../src/cli/startCommand';

const program = new Command('harombe')
  .option('-c, --config <file>', 'harombe.yaml to use')
  .option('-v, --verbose', 'log more')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();
registerStartCommand(program);

program.parseAsync(process.argv).then(
  () => process.exit(0),
  (err: unknown) => {
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
    process.stderr.write(`harombe: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
