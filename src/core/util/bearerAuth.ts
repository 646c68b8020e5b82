import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Checks `Authorization: Bearer <token>` headers against the worker's token.
 *
 * Both sides are hashed before comparing: `timingSafeEqual` needs equal lengths, and comparing
 * lengths first would tell an attacker how long the token is. Hashing makes every comparison the
 * same size and the same cost, whatever was presented.
 */
export class BearerAuth {
  private readonly expected: Buffer | undefined;

  /** `token` undefined or empty: no auth, every request passes. */
  constructor(token: string | undefined) {
    this.expected = token ? digest(token) : undefined;
  }

  get enabled(): boolean {
    return this.expected !== undefined;
  }

  /** True when auth is off or the header carries the token. Never says why it failed, on purpose. */
  check(authorization: string | string[] | undefined): boolean {
    if (!this.expected) return true;
    // A repeated header is ambiguous (which one did a proxy check?), so it never passes.
    if (typeof authorization !== 'string') return false;
    const match = /^Bearer[ \t]+(.+)$/i.exec(authorization.trim());
    const presented = digest(match?.[1]?.trim() ?? '');
    // Compare even when the header is malformed, so a malformed header costs the same as a wrong token.
    const equal = timingSafeEqual(presented, this.expected);
    return equal && match !== null;
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
