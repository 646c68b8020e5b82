/**
 * The link-down case, run inside namespace A (so `ip link set … down` acts on this run's veth only):
 * the matrix cluster with `t1a` pointed at the node in namespace B, the link taken down while answers
 * stream and brought up again for recovery. Prints one `{"event":"result",…}` line. Args: coordinator|gateway, host, port, veth.
 */
import { execFileSync } from 'node:child_process';
import { FAULTY, runFaultCase } from './faultCase';

void (async () => {
  const [target, host, port, veth] = process.argv.slice(2) as ['coordinator' | 'gateway', string, string, string];
  const link = (state: 'up' | 'down'): void => {
    execFileSync('ip', ['link', 'set', veth, state]);
  };
  try {
    const result = await runFaultCase(
      'link goes down mid-stream (netns)',
      {
        prepare: (cluster) => {
          const node = cluster.config.cluster.nodes.find((n) => n.name === FAULTY);
          if (!node) throw new Error(`no node ${FAULTY}`);
          node.host = host;
          node.port = Number(port);
        },
        injectAfterMs: 150,
        inject: async () => link('down'),
        clear: async () => link('up'),
      },
      target,
      200,
    );
    process.stdout.write(JSON.stringify({ event: 'result', result, t: Date.now() }) + '\n');
    process.exit(0);
  } catch (err) {
    link('up');
    process.stderr.write(String(err instanceof Error ? err.stack : err) + '\n');
    process.exit(1);
  }
})();
