import { strict as assert } from 'node:assert';
import { MdnsBrowser } from '../../../src/core/nodes/mdnsBrowser';
import type { DiscoveredWorker } from '../../../src/core/nodes/mdnsBrowser';
import { MdnsAnnouncer } from '../../../src/node/mdnsAnnouncer';
import { silentLogger } from '../../../src/core/util/logger';

/** Announce and browse over the loopback interface of the root namespace: no packet leaves the machine. */
const LOOPBACK = { interface: '127.0.0.1', bind: '0.0.0.0' } as const;

function next<T>(subscribe: (l: (v: T) => void) => { dispose(): void }, test: (v: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const sub = subscribe((v) => {
      if (!test(v)) return;
      clearTimeout(timer);
      sub.dispose();
      resolve(v);
    });
  });
}

describe('mDNS on loopback (announcer and browser in one process)', function () {
  this.timeout(10_000);
  // Unique per run: another run on this machine may be announcing on loopback at the same time.
  const name = `loopback-${process.pid}-${Date.now() % 100000}`;
  const disposables: { dispose(): void }[] = [];
  let announcer: MdnsAnnouncer | undefined;

  afterEach(async () => {
    for (const d of disposables.splice(0)) d.dispose();
    await announcer?.stop();
    announcer = undefined;
  });

  it('finds an announced worker with its TXT fields, both by announcement and by query, and loses it on goodbye', async () => {
    const early = new MdnsBrowser({ ...LOOPBACK, requeryMs: 0 });
    disposables.push(early);
    const foundEarly = next<DiscoveredWorker>(early.onDidFind, (w) => w.name === name, 5000, 'the announcement');

    announcer = MdnsAnnouncer.start({ ...LOOPBACK, name, port: 18123, txt: { model: 'qwen2.5:7b', tier: 1, version: '9.8.7', id: 'node-loop-1' }, logger: silentLogger });
    assert.equal(await announcer.announced, true);
    const w = await foundEarly;
    assert.deepEqual(
      { name: w.name, host: w.host, port: w.port, model: w.model, tier: w.tier, nodeId: w.nodeId, version: w.version },
      { name, host: '127.0.0.1', port: 18123, model: 'qwen2.5:7b', tier: 1, nodeId: 'node-loop-1', version: '9.8.7' },
    );

    // A browser that starts after the announcement finds the worker by asking.
    const late = new MdnsBrowser({ ...LOOPBACK, requeryMs: 0 });
    disposables.push(late);
    const lateFound = await next<DiscoveredWorker>(late.onDidFind, (x) => x.name === name, 5000, 'the answer to the query');
    assert.equal(lateFound.nodeId, 'node-loop-1');
    assert.deepEqual(late.workers.map((x) => x.name).filter((n) => n === name), [name]);

    const lostEarly = next<string>(early.onDidLose, (n) => n === name, 3000, 'the goodbye (early browser)');
    const lostLate = next<string>(late.onDidLose, (n) => n === name, 3000, 'the goodbye (late browser)');
    await announcer.stop();
    // next() fails each wait after 3 s: a goodbye not sent would leave the browsers waiting for the record's TTL (minutes).
    await Promise.all([lostEarly, lostLate]);
    assert.equal(late.workers.some((x) => x.name === name), false);
  });

  it('does not announce under a name another worker already has', async () => {
    const txt = { model: 'm', tier: 0, version: '1.0.0', id: 'node-loop-3' };
    announcer = MdnsAnnouncer.start({ ...LOOPBACK, name: `${name}-c`, port: 18125, txt, logger: silentLogger });
    assert.equal(await announcer.announced, true);
    const warnings: string[] = [];
    // bonjour also console.logs the conflict as an Error with its stack; keep the test output clean.
    const log = console.log;
    console.log = (...args: unknown[]) => void (args[0] instanceof Error && /already in use/.test(args[0].message) ? undefined : log(...args));
    const second = MdnsAnnouncer.start({ ...LOOPBACK, name: `${name}-c`, port: 18126, txt, logger: { ...silentLogger, warn: (m: string | Error) => void warnings.push(String(m)) } });
    try {
      assert.equal(await second.announced, false);
      assert.match(warnings.join('\n'), /already in use on the network/);
    } finally {
      console.log = log;
      await second.stop();
    }
  });

  it('stops firing events after dispose', async () => {
    const browser = new MdnsBrowser({ ...LOOPBACK, requeryMs: 0 });
    let fired = 0;
    browser.onDidFind(() => fired++);
    browser.dispose();
    announcer = MdnsAnnouncer.start({ ...LOOPBACK, name: `${name}-b`, port: 18124, txt: { model: 'm', tier: 0, version: '1.0.0', id: 'node-loop-2' }, logger: silentLogger });
    await announcer.announced;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(fired, 0);
  });
});
