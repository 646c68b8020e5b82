/**
 * A FakeOllama in its own process (the discovery test runs it inside the worker's namespace). Prints
 * `ready` with its port, then one `request` line per request it receives, with its Authorization header.
 * Args: the models it serves, comma-separated.
 */
import { FakeOllama } from '../../fakes/fakeOllama';

const print = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify({ ...o, t: Date.now() }) + '\n');

void (async () => {
  const fake = await FakeOllama.start({ models: (process.argv[2] ?? 'qwen2.5:72b').split(',') });
  let seen = 0;
  // The fake records requests as they arrive; polling them is simpler than hooking its server.
  setInterval(() => {
    for (; seen < fake.requests.length; seen++) {
      const r = fake.requests[seen]!;
      print({ event: 'request', method: r.method, path: r.path, authorization: r.headers.authorization ?? null });
    }
  }, 20);
  print({ event: 'ready', port: fake.port });
  process.on('SIGTERM', () => void fake.stop().then(() => process.exit(0)));
})();
