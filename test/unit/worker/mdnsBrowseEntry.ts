/**
 * Runs an MdnsBrowser in its own process (the netns test starts it inside a network namespace) and
 * reports on stdout, one JSON object a line, with this process's clock: `ready`, `found` (with the
 * worker's /health status fetched from the announced address), `lost`.
 */
import { MdnsBrowser } from '../../../src/core/nodes/mdnsBrowser';

const print = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify({ ...o, t: Date.now() }) + '\n');

const browser = new MdnsBrowser({ requeryMs: 0 });
browser.onDidFind((worker) => {
  const t = Date.now();
  fetch(`http://${worker.host}:${worker.port}/health`, { signal: AbortSignal.timeout(3000) })
    .then(async (r) => print({ event: 'found', at: t, worker, health: { status: r.status, body: await r.json() } }))
    .catch((err: unknown) => print({ event: 'found', at: t, worker, health: { error: (err as Error).message } }));
});
browser.onDidLose((name) => print({ event: 'lost', name }));
print({ event: 'ready' });

process.on('SIGTERM', () => {
  browser.dispose();
  process.exit(0);
});
