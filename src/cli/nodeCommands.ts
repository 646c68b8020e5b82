import type { Command } from 'commander';
import pc from 'picocolors';
import type { NodeInfo } from '../core/nodes/nodeInfo';
import type { TrustedNode } from '../core/nodes/trustStore';
import { FileTrustStore } from '../core/nodes/fileTrustStore';
import { CliExit, globalOptions, openCoordinator } from './cliContext';
import { colorState, hostPort, renderTable } from './format';
import { harombeHome } from './harombeHome';

type Trust = 'configured' | 'trusted' | 'untrusted' | 'impostor';

/** `harombe node list|trust|untrust`: the workers found on the LAN and which of them may receive prompts. */
export function registerNodeCommands(program: Command): void {
  const node = program.command('node').description('Discovered worker nodes (mDNS) and whether they are trusted');

  node
    .command('list')
    .description('Browse the LAN for workers for a few seconds, then list them with the configured nodes and their trust')
    .option('--json', 'print {"nodes":[…],"pinned":{…}} instead of a table')
    .option('--wait <seconds>', 'how long to browse', '2')
    .option('--mdns-interface <address>', 'IPv4 address of the one interface to browse on (default: all)')
    .action(async (opts: { json?: boolean; wait: string; mdnsInterface?: string }, cmd: Command) => {
      const waitMs = parseWait(opts.wait);
      const ctx = openCoordinator(globalOptions(cmd), { browse: 'always', mdnsInterface: opts.mdnsInterface });
      try {
        await sleep(waitMs);
        await ctx.coordinator.prober.sweep();
        const pins = new FileTrustStore(harombeHome()).all();
        const nodes = ctx.coordinator.nodes();
        if (opts.json) {
          const out = nodes.map((n) => ({ name: n.name, host: n.host, port: n.port, tier: n.tier, model: n.model, source: n.source, node_id: n.nodeId ?? null, key: n.keyFingerprint ?? null, trust: trustOf(n, pins[n.name]), state: n.state, state_reason: n.stateReason ?? null }));
          process.stdout.write(JSON.stringify({ nodes: out, pinned: pins }, null, 2) + '\n');
          return;
        }
        const seen = new Set(nodes.map((n) => n.name));
        const rows = nodes.map((n) => [n.name, hostPort(n), String(n.tier), n.model, n.source, n.nodeId ?? '-', shortKey(n.keyFingerprint), describeTrust(trustOf(n, pins[n.name])), colorState(n.state)]);
        for (const [name, pin] of Object.entries(pins)) {
          if (!seen.has(name)) rows.push([name, '-', '-', '-', 'mdns', pin.nodeId, shortKey(pin.keyFingerprint), pc.dim('trusted, not seen'), '-']);
        }
        if (rows.length === 0) {
          process.stdout.write(`No nodes configured and none found on the network within ${waitMs / 1000} s (workers announce with \`harombe start --host 0.0.0.0\`).\n`);
          return;
        }
        process.stdout.write(renderTable(['Name', 'Host', 'Tier', 'Model', 'Source', 'Node id', 'Host key', 'Trust', 'Status'], rows) + '\n');
        const untrusted = nodes.filter((n) => n.state === 'untrusted');
        if (untrusted.length > 0) process.stdout.write(`\n${untrusted.length} untrusted: they get no prompts until you run ${pc.bold('harombe node trust NAME')}.\n`);
      } finally {
        ctx.close();
      }
    });

  node
    .command('trust <name>')
    .description('Find a worker on the LAN and trust it: pins its name to its node id, so only that machine gets prompts under that name')
    .option('--wait <seconds>', 'how long to look for it', '5')
    .option('--mdns-interface <address>', 'IPv4 address of the one interface to browse on (default: all)')
    .action(async (name: string, opts: { wait: string; mdnsInterface?: string }, cmd: Command) => {
      const waitMs = parseWait(opts.wait);
      const ctx = openCoordinator(globalOptions(cmd), { browse: 'always', mdnsInterface: opts.mdnsInterface });
      try {
        const discovery = ctx.coordinator.discovery!;
        const deadline = Date.now() + waitMs;
        let found = ctx.coordinator.registry.get(name);
        while (!found && Date.now() < deadline) {
          await sleep(100);
          found = ctx.coordinator.registry.get(name);
        }
        if (!found) {
          const seen = discovery.workers.map((w) => w.name);
          throw new CliExit(1, `No worker named "${name}" found on the network within ${waitMs / 1000} s (found: ${seen.join(', ') || 'none'}).`);
        }
        if (found.source === 'config') throw new CliExit(1, `"${name}" is a configured node (cluster.nodes); configured nodes are trusted already.`);
        // The key is learnt from a probe (the node signs a fresh nonce), so the pin holds the key of the machine answering now.
        await ctx.coordinator.prober.probe(name);
        found = ctx.coordinator.registry.get(name) ?? found;
        const store = new FileTrustStore(harombeHome());
        const previous = store.get(name);
        let pin: TrustedNode;
        try {
          pin = discovery.trust(name);
        } catch (err) {
          throw new CliExit(1, (err as Error).message);
        }
        if (previous && previous.nodeId !== pin.nodeId) process.stdout.write(pc.yellow(`Replacing the earlier trust in "${name}" (node id ${previous.nodeId}).\n`));
        if (previous?.keyFingerprint && pin.keyFingerprint !== previous.keyFingerprint) {
          process.stdout.write(pc.yellow(`Its host key changed: was ${previous.keyFingerprint}, now ${pin.keyFingerprint ?? 'none'}.\n`));
        }
        process.stdout.write(`Trusted "${name}" (${found.model}, tier ${found.tier}) at ${hostPort(found)}: pinned to node id ${pin.nodeId} in ${store.file}.\n`);
        process.stdout.write(
          pin.keyFingerprint
            ? `Host key: ${pin.keyFingerprint}\nCompare it with the "key SHA256:…" line \`harombe start\` printed on that machine; if they differ, run \`harombe node untrust ${name}\`.\n`
            : pc.yellow(`It proved no host key (a Harombe 0.3.1 worker, or it did not answer): trust is pinned to its node id only, which another machine can copy.\n`),
        );
      } finally {
        ctx.close();
      }
    });

  node
    .command('untrust <name>')
    .description('Stop trusting a discovered worker; it gets no prompts until trusted again')
    .action((name: string) => {
      const store = new FileTrustStore(harombeHome());
      if (!store.delete(name)) throw new CliExit(1, `"${name}" was not trusted (trusted: ${Object.keys(store.all()).join(', ') || 'none'}).`);
      process.stdout.write(`"${name}" is no longer trusted.\n`);
    });
}

function trustOf(n: NodeInfo, pin: TrustedNode | undefined): Trust {
  if (n.source === 'config') return 'configured';
  if (n.state !== 'untrusted') return 'trusted';
  if (pin && n.nodeId !== undefined && pin.nodeId !== n.nodeId) return 'impostor';
  return pin?.keyFingerprint && n.keyFingerprint !== undefined && n.keyFingerprint !== pin.keyFingerprint ? 'impostor' : 'untrusted';
}

/** The start of a fingerprint is enough to tell keys apart in a table; `node trust` and --json print it whole. */
function shortKey(fingerprint: string | undefined): string {
  return fingerprint ? `${fingerprint.slice(0, 19)}…` : '-';
}

function describeTrust(t: Trust): string {
  if (t === 'impostor') return pc.red('untrusted: not the machine you trusted under this name');
  if (t === 'untrusted') return pc.yellow('untrusted');
  return t;
}

function parseWait(value: string): number {
  const s = Number(value);
  if (!Number.isFinite(s) || s < 0) throw new CliExit(2, `--wait: expected a number of seconds >= 0, got "${value}"`);
  return s * 1000;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
