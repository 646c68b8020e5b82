import { parseArgs } from 'node:util';
import { runSoak } from './soakRun';

// `npm run soak [-- --minutes N]`: 20 concurrent request loops for N minutes (default 10) while
// random fake nodes are killed and restarted. Exits 1 when a request was lost or answered wrongly,
// RSS grew by more than 10 % after the warm-up, or handles were left behind.
async function main(): Promise<number> {
  const { values } = parseArgs({ options: { minutes: { type: 'string', default: '10' }, concurrency: { type: 'string', default: '20' } } });
  const minutes = Number(values.minutes);
  const concurrency = Number(values.concurrency);
  if (!(minutes > 0) || !(concurrency > 0)) throw new Error('--minutes and --concurrency take positive numbers');
  if (!(globalThis as { gc?: unknown }).gc) console.warn('run with --expose-gc (npm run soak does) for a settled RSS measurement');
  console.log(`soak: ${minutes} min, ${concurrency} concurrent`);
  const r = await runSoak({ durationMs: minutes * 60_000, concurrency, log: (l) => console.log(l) });
  console.log(JSON.stringify(r, null, 2));
  const problems = [
    r.lost > 0 && `${r.lost} requests lost`,
    r.wrong > 0 && `${r.wrong} answers duplicated or truncated`,
    r.rssGrowth > 0.1 && `RSS grew ${(r.rssGrowth * 100).toFixed(1)} %`,
    r.leakedHandles.length > 0 && `handles left: ${r.leakedHandles.join(', ')}`,
  ].filter((p): p is string => typeof p === 'string');
  for (const p of problems) console.error(`FAIL: ${p}`);
  if (problems.length === 0) console.log(`OK: ${r.requests} requests, ${r.kills} kills, RSS ${r.rssWarmMb.toFixed(1)} → ${r.rssEndMb.toFixed(1)} MB`);
  return problems.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
