import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';

/**
 * A worker's host key, as SSH pins a server's: the worker keeps an ed25519 key pair it made on
 * first start, its `/health?challenge=<nonce>` answers its public key and a signature over the
 * nonce, and the coordinator pins the key's fingerprint when the user trusts the node. A LAN host
 * that copies the worker's announced name and node id cannot sign for the key.
 */

/** Signed before the nonce, so a worker's signature can never be replayed as anything else. */
export const CHALLENGE_CONTEXT = 'harombe-node-key-v1\0';
/** ed25519 public keys are SPKI DER: this 12-byte prefix, then the 32-byte raw key. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** The key part of a worker's /health answer. */
export interface WireNodeKey {
  type: 'ed25519';
  /** The raw 32-byte public key, base64. */
  public: string;
  /** Signature over CHALLENGE_CONTEXT + the nonce, base64; only when a challenge was sent. */
  signature?: string;
}

/** A fresh nonce for one probe (URL-safe, so it goes in a query string as is). */
export function newChallenge(): string {
  return randomBytes(24).toString('base64url');
}

/** What a nonce may look like on the wire: base64url, 16 to 128 characters. */
export function isChallenge(value: string): boolean {
  return /^[A-Za-z0-9_-]{16,128}$/.test(value);
}

/** `SHA256:<base64 without padding>` of the raw public key, the way `ssh-keygen -l` prints host keys. */
export function keyFingerprint(rawPublicKey: Buffer): string {
  return `SHA256:${createHash('sha256').update(rawPublicKey).digest('base64').replace(/=+$/, '')}`;
}

export type KeyProof = { ok: true; fingerprint: string } | { ok: false; reason: string };

/** Checks a worker's answer to `challenge`; the fingerprint is only returned for a valid signature. */
export function verifyKeyProof(key: unknown, challenge: string): KeyProof {
  if (typeof key !== 'object' || key === null) return { ok: false, reason: 'key is not an object' };
  const k = key as Partial<Record<keyof WireNodeKey, unknown>>;
  if (k.type !== 'ed25519') return { ok: false, reason: `unsupported key type ${JSON.stringify(k.type)}` };
  if (typeof k.public !== 'string' || typeof k.signature !== 'string') return { ok: false, reason: 'key without public key or signature' };
  const raw = Buffer.from(k.public, 'base64');
  if (raw.length !== 32) return { ok: false, reason: 'public key is not 32 bytes' };
  let good: boolean;
  try {
    const publicKey = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
    good = verify(null, Buffer.from(CHALLENGE_CONTEXT + challenge, 'utf8'), publicKey, Buffer.from(k.signature, 'base64'));
  } catch (err) {
    return { ok: false, reason: `unusable key: ${(err as Error).message}` };
  }
  return good ? { ok: true, fingerprint: keyFingerprint(raw) } : { ok: false, reason: 'signature does not match the key' };
}

/** The raw 32 bytes of an ed25519 public key in SPKI DER. */
export function rawEd25519(spkiDer: Buffer): Buffer {
  if (spkiDer.length !== ED25519_SPKI_PREFIX.length + 32 || !spkiDer.subarray(0, ED25519_SPKI_PREFIX.length).equals(ED25519_SPKI_PREFIX)) {
    throw new Error('not an ed25519 public key');
  }
  return spkiDer.subarray(ED25519_SPKI_PREFIX.length);
}
