import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHALLENGE_CONTEXT, keyFingerprint, rawEd25519, type WireNodeKey } from '../core/nodes/nodeKey';
import type { Logger } from '../core/util/logger';

/**
 * The worker's host key: an ed25519 key pair made on first start and kept in
 * `<harombe home>/node_key.pem` (0600), so coordinators can pin trust to something an impostor
 * on the LAN cannot copy from the announcement or /health.
 */
export class WorkerKey {
  readonly fingerprint: string;
  private readonly publicRaw: string;

  private constructor(private readonly privateKey: KeyObject) {
    const raw = rawEd25519(createPublicKey(privateKey).export({ format: 'der', type: 'spki' }));
    this.publicRaw = raw.toString('base64');
    this.fingerprint = keyFingerprint(raw);
  }

  /** Reads the key from `home`, or makes and saves one. A key that cannot be saved is still used (it changes on the next start). */
  static loadOrCreate(home: string, logger: Logger): WorkerKey {
    const file = join(home, 'node_key.pem');
    try {
      const pem = readFileSync(file, 'utf8');
      const key = createPrivateKey(pem);
      if (key.asymmetricKeyType !== 'ed25519') throw new Error(`holds a ${key.asymmetricKeyType ?? 'unknown'} key, not ed25519`);
      if (process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0) {
        // Anyone who reads the private key can pose as this worker: tighten it rather than only warn.
        chmodSync(file, 0o600);
        logger.warn(`${file} was readable by other users; it is now 0600`);
      }
      return new WorkerKey(key);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') {
        // A damaged or foreign key file is kept for the user to look at; the worker will not overwrite it.
        throw new Error(`cannot use the worker key ${file}: ${(err as Error).message}. Move it away to make a new key (coordinators that trusted this worker will then refuse it until trusted again).`);
      }
    }
    const { privateKey } = generateKeyPairSync('ed25519');
    const key = new WorkerKey(privateKey);
    try {
      mkdirSync(home, { recursive: true, mode: 0o700 });
      writeFileSync(file, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
      logger.info(`made the worker key ${file} (${key.fingerprint})`);
    } catch (err) {
      logger.warn(`cannot save the worker key to ${file} (${(err as Error).message}); it will change on the next start and trusting coordinators will refuse this worker`);
    }
    return key;
  }

  /** The key as /health shows it, signed over `challenge` when one was sent. */
  wire(challenge: string | undefined): WireNodeKey {
    return {
      type: 'ed25519',
      public: this.publicRaw,
      ...(challenge !== undefined && { signature: sign(null, Buffer.from(CHALLENGE_CONTEXT + challenge, 'utf8'), this.privateKey).toString('base64') }),
    };
  }
}
