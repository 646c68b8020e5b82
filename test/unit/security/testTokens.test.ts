import { strict as assert } from 'node:assert';
import { findTokens, redactTokens, testTokens } from '../../security/testTokens';

// The whole-run secrets check (test/security/secretsRun.ts) is only as good as this matcher.
describe('testTokens: finding the test run\'s tokens in text', () => {
  it('finds a whole token, and names it', () => {
    const hits = findTokens(`Authorization: Bearer ${testTokens.worker}\n`);
    assert.deepEqual(hits.map((h) => [h.name, h.length]), [['worker', testTokens.worker.length]]);
  });

  it('finds a mask that shows 10 or more characters of the random part, and every token in a text', () => {
    const tail = testTokens.node.slice(-12);
    const text = `token …${tail} and ${testTokens.gateway} and ${testTokens.stored.slice(0, 20)}`;
    assert.deepEqual(findTokens(text).map((h) => h.name), ['node', 'gateway']);
  });

  it('leaves short pieces and other text alone', () => {
    assert.deepEqual(findTokens(`hrmbtest-worker-6f3a… ${testTokens.dead.slice(-6)} Bearer <token>`), []);
  });

  it('every token is hrmbtest-<its name>-<16 hex digits>, and shares no findable piece with another', () => {
    for (const [name, token] of Object.entries(testTokens)) {
      assert.match(token, new RegExp(`^hrmbtest-${name.toLowerCase()}-[0-9a-f]{16}$`));
      assert.deepEqual(findTokens(token).map((h) => h.name), [name]);
    }
  });

  it('redacts what it finds, so a report never repeats a secret', () => {
    const text = `a ${testTokens.wrong} b ${testTokens.rejected.slice(-11)} c`;
    assert.equal(redactTokens(text), 'a <token:wrong> b <token:rejected> c');
    assert.deepEqual(findTokens(redactTokens(text)), []);
  });
});
