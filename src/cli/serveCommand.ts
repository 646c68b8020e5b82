import type { Command } from 'commander';
import { DEFAULT_GATEWAY_PORT, GatewayServer } from '../core/gateway/gatewayServer';
import { isLoopbackHost } from '../core/gateway/requestGuard';
import { CliExit, cliLogger, globalOptions, openCoordinator } from './cliContext';
import { keepServing } from './keepServing';
import { readTokenFile } from './readTokenFile';

interface ServeOptions {
  port: string;
  host: string;
  token?: string;
  tokenFile?: string;
  allowOrigin: string[];
}

/** `harombe serve`: the cluster as one Ollama- and OpenAI-compatible endpoint until SIGINT/SIGTERM. */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('Serve the cluster as one local endpoint (Ollama /api/*, OpenAI /v1/*, /cluster/*, /health, /metrics)')
    .option('-p, --port <port>', 'port to listen on (0 picks a free one)', String(DEFAULT_GATEWAY_PORT))
    .option('--host <address>', 'address to bind; anything but loopback should come with --token', '127.0.0.1')
    .option('--token <token>', 'require Authorization: Bearer <token> (visible in the process list: prefer --token-file or $HAROMBE_GATEWAY_TOKEN)')
    .option('--token-file <file>', 'file holding the bearer token clients must send (else --token, else $HAROMBE_GATEWAY_TOKEN)')
    .option('--allow-origin <origin>', 'a web origin allowed to call the gateway (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
    .action(async (opts: ServeOptions, cmd: Command) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliExit(2, `--port: expected a port number, got "${opts.port}"`);
      const global = globalOptions(cmd);
      const logger = cliLogger(global);
      keepServing(logger);
      if (opts.token && opts.tokenFile) throw new CliExit(2, 'give --token or --token-file, not both');
      const fromFile = opts.tokenFile && readTokenFile(opts.tokenFile, logger, (m) => {
        throw new CliExit(2, m);
      });
      const token = fromFile || opts.token || process.env.HAROMBE_GATEWAY_TOKEN || undefined;
      if (!isLoopbackHost(opts.host) && !token) {
        logger.warn(`binding ${opts.host} without a token: anyone who can reach this address can use the cluster (set --token or $HAROMBE_GATEWAY_TOKEN)`);
      }
      const ctx = openCoordinator(global, { probeOnInterval: true, browse: 'config', watchConfig: true });
      // Route the first requests on fresh health data instead of the registry's initial guess.
      await ctx.coordinator.prober.sweep();
      const gateway = new GatewayServer({ coordinator: ctx.coordinator, host: opts.host, port, token: token || undefined, allowedOrigins: opts.allowOrigin, logger });
      let url: string;
      try {
        url = await gateway.listen();
      } catch (err) {
        ctx.close();
        throw new CliExit(1, `Cannot listen on ${opts.host}:${port}: ${(err as Error).message}`);
      }
      process.stdout.write(`Harombe gateway listening on ${url}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await gateway.close();
      ctx.close();
    });
}
