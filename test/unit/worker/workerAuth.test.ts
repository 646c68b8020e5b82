import { strict as assert } from 'node:assert';
import { BearerAuth } from '../../../src/core/util/bearerAuth';
import { testTokens } from '../../security/testTokens';

describe('BearerAuth', () => {
  const token = testTokens.worker;

  it('lets everything through when no token is set', () => {
    for (const t of [undefined, '']) {
      const auth = new BearerAuth(t);
      assert.equal(auth.enabled, false);
      assert.equal(auth.check(undefined), true);
      assert.equal(auth.check(`Bearer ${testTokens.wrong}`), true);
    }
  });

  it('accepts exactly the token, with the scheme in any case', () => {
    const auth = new BearerAuth(token);
    assert.equal(auth.enabled, true);
    assert.equal(auth.check(`Bearer ${token}`), true);
    assert.equal(auth.check(`bearer ${token}`), true);
    assert.equal(auth.check(`BEARER   ${token}  `), true);
  });

  it('rejects missing, wrong, truncated, extended and malformed credentials', () => {
    const auth = new BearerAuth(token);
    for (const header of [
      undefined,
      '',
      'Bearer',
      'Bearer ',
      `Bearer ${token.slice(0, -1)}`,
      `Bearer ${token}x`,
      `Bearer ${token.toUpperCase()}`,
      token,
      `Basic ${Buffer.from(`user:${token}`).toString('base64')}`,
      `Token ${token}`,
      `Bearer${token}`,
    ]) {
      assert.equal(auth.check(header), false, `accepted ${JSON.stringify(header)}`);
    }
  });

  it('rejects a repeated Authorization header even when one of them is right', () => {
    const auth = new BearerAuth(token);
    assert.equal(auth.check([`Bearer ${token}`, `Bearer ${testTokens.wrong}`]), false);
    assert.equal(auth.check([`Bearer ${token}`]), false);
  });
});
