import { strict as assert } from 'node:assert';
import { runSoak } from './soakRun';

// The CI form of `npm run soak`: the same loops and chaos, 45 s instead of 10 min. The warm-up is
// long because this runs after the fault matrix (10 MB records …), whose heap takes a while to settle.
describe('soak (short): 20 concurrent loops while nodes are killed and restarted', function () {
  this.timeout(120_000);

  it('loses nothing, keeps RSS flat and leaves no handles behind', async () => {
    const r = await runSoak({ durationMs: 45_000, concurrency: 20, warmUpMs: 15_000 });
    const seed = ` (chaos seed ${r.seed}: HAROMBE_TEST_SEED=${r.seed} replays it)`;
    console.log(`      ${r.requests} requests, ${r.kills} kills, RSS ${r.rssWarmMb.toFixed(1)} → ${r.rssEndMb.toFixed(1)} MB (${(r.rssGrowth * 100).toFixed(1)} %)`);
    assert.ok(r.requests > 1000, `only ${r.requests} requests ran${seed}`);
    assert.ok(r.kills > 5, `only ${r.kills} kills${seed}`);
    assert.equal(r.lost, 0, `requests lost${seed}`);
    assert.equal(r.wrong, 0, `answers duplicated or truncated${seed}`);
    assert.ok(r.rssGrowth <= 0.1, `RSS grew ${(r.rssGrowth * 100).toFixed(1)} % (${r.rssWarmMb.toFixed(1)} → ${r.rssEndMb.toFixed(1)} MB)${seed}`);
    assert.deepEqual(r.leakedHandles, [], `handles left after dispose/stop${seed}`);
  });
});
