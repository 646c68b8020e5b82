/**
 * The faulty node of the link-down case, run inside its own namespace: a slow FakeOllama (so answers
 * are mid-stream when the link drops) behind a TCP relay on the namespace's veth address, since the
 * fake listens on 127.0.0.1 only. Prints `{"event":"ready","port":…}`. Args: address to listen on, model.
 */
import { createConnection, createServer } from 'node:net';
import { FakeOllama } from '../fakes/fakeOllama';

void (async () => {
  const [address = '0.0.0.0', model = 'qwen2.5:14b'] = process.argv.slice(2);
  const fake = await FakeOllama.start({ models: [model], chunkDelayMs: 60 });
  const relay = createServer((inbound) => {
    const outbound = createConnection({ host: '127.0.0.1', port: fake.port });
    inbound.pipe(outbound).pipe(inbound);
    inbound.on('error', () => outbound.destroy());
    outbound.on('error', () => inbound.destroy());
  });
  relay.listen(0, address, () => {
    const addr = relay.address();
    process.stdout.write(JSON.stringify({ event: 'ready', port: typeof addr === 'object' && addr ? addr.port : 0, t: Date.now() }) + '\n');
  });
  process.on('SIGTERM', () => void fake.stop().then(() => process.exit(0)));
})();
