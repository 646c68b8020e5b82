/**
 * A Coordinator with mDNS discovery in its own process (the discovery test and bench run it inside
 * a network namespace), next to a FakeOllama it has configured as the trusted node `local` (tier 0).
 * Reports on stdout, one JSON object a line with this process's clock: `ready`, `node` (a registry
 * change), `removed`, `discover`, `impostor`, `lost`, and answers to commands read from stdin:
 * `{"cmd":"chat","id":1,"tier":2}` → `chat` (which node answered), `{"cmd":"trust","name":"x"}` →
 * `trusted` or `trust-error`. The trust store is `$HAROMBE_HOME/trusted-nodes.json`.
 */
import { createInterface } from 'node:readline';
import { harombeConfigSchema } from '../../../src/core/config/schema';
import { Coordinator } from '../../../src/core/coordinator';
import { FileTrustStore } from '../../../src/core/nodes/fileTrustStore';
import { FakeOllama } from '../../fakes/fakeOllama';

const print = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify({ ...o, t: Date.now() }) + '\n');

void (async () => {
  const local = await FakeOllama.start({ models: ['qwen2.5:7b'] });
  const config = harombeConfigSchema.parse({
    cluster: {
      discovery: { method: 'mdns' },
      nodes: [{ name: 'local', host: '127.0.0.1', port: local.port, model: 'qwen2.5:7b', tier: 0, kind: 'ollama' }],
    },
  });
  const coordinator = new Coordinator({ config, probeOnInterval: true, discovery: { trustStore: new FileTrustStore(process.env.HAROMBE_HOME!) } });
  const discovery = coordinator.discovery!;
  coordinator.registry.onDidChange((nodes) => {
    for (const n of nodes) print({ event: 'node', name: n.name, state: n.state, reason: n.stateReason, nodeId: n.nodeId, host: n.host, port: n.port, source: n.source, latencyMs: n.latencyMs ?? null });
  });
  coordinator.registry.onDidRemove((names) => print({ event: 'removed', names }));
  discovery.onDidDiscover((n) => print({ event: 'discover', ...n }));
  discovery.onDidDetectImpostor((n) => print({ event: 'impostor', ...n }));
  discovery.onDidLose((name) => print({ event: 'lost', name }));

  createInterface({ input: process.stdin }).on('line', (l) => {
    const c = JSON.parse(l) as { cmd: string; id?: number; tier?: 0 | 1 | 2; name?: string };
    if (c.cmd === 'chat') {
      void (async () => {
        let node: string | undefined;
        let error: string | undefined;
        for await (const e of coordinator.complete({ messages: [{ role: 'user', content: 'say hi' }], tier: c.tier ?? 2 })) {
          if (e.type === 'done') node = e.node;
          if (e.type === 'error') error = e.message;
        }
        print({ event: 'chat', id: c.id, node, error });
      })();
    } else if (c.cmd === 'trust') {
      try {
        print({ event: 'trusted', name: c.name, pin: discovery.trust(c.name!) });
      } catch (err) {
        print({ event: 'trust-error', name: c.name, message: (err as Error).message });
      }
    }
  });
  print({ event: 'ready', localPort: local.port });
  process.on('SIGTERM', () => {
    coordinator.dispose();
    void local.stop().then(() => process.exit(0));
  });
})();
