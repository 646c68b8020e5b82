import type { Command } from 'commander';
import pc from 'picocolors';
import { ConfigError } from '../core/config/configError';
import { loadConfig } from '../core/config/loadConfig';
import { renderConfigReference } from '../core/config/describeSchema';
import { CliExit, globalOptions } from './cliContext';
import { harombeHome } from './harombeHome';

/** `harombe config check [FILE]` and `harombe config reference`. */
export function registerConfigCommand(program: Command): void {
  const config = program.command('config').description('Check harombe.yaml');

  config
    .command('check')
    .description('Validate the config; print each problem as file:line:col message; exit 1 on error')
    .argument('[file]', 'the file to check (default: the files harombe would load)')
    .action((file: string | undefined, _opts: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      try {
        const result = loadConfig({ explicitFile: file ?? g.config, env: process.env, cwd: process.cwd(), home: harombeHome() });
        for (const w of result.warnings) process.stdout.write(`${w.file}:${w.line}:${w.column} ${pc.yellow('warning')} ${w.message}\n`);
        const n = result.config.cluster.nodes.length;
        const files = result.files.length ? result.files.join(', ') : 'no file (defaults)';
        process.stdout.write(`${pc.green('OK')} ${files}: ${n} node${n === 1 ? '' : 's'}, ${result.warnings.length} warning${result.warnings.length === 1 ? '' : 's'}\n`);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        process.stdout.write(err.format() + '\n');
        throw new CliExit(1);
      }
    });

  config
    .command('reference')
    .description('Print every config key with its type, default and meaning (markdown)')
    .action(() => {
      process.stdout.write(renderConfigReference() + '\n');
    });
}
