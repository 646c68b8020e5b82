import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TrustedNode, TrustStore } from './trustStore';

interface TrustFile {
  version: 1;
  nodes: Record<string, TrustedNode>;
}

/**
 * A `TrustStore` in `<harombe home>/trusted-nodes.json`. Every call reads the file again, because
 * the CLI and the extension change it independently; writes go to a temporary file renamed over
 * the old one, so a reader never sees half a file.
 */
export class FileTrustStore implements TrustStore {
  readonly file: string;

  constructor(home: string) {
    this.file = join(home, 'trusted-nodes.json');
  }

  get(name: string): TrustedNode | undefined {
    const n = this.read().nodes[name];
    return n && { ...n };
  }

  set(name: string, node: TrustedNode): void {
    if (!node.nodeId) throw new Error(`cannot trust ${name}: no node id to pin`);
    const data = this.read();
    data.nodes[name] = {
      nodeId: node.nodeId,
      ...(node.tokenFingerprint && { tokenFingerprint: node.tokenFingerprint }),
      ...(node.keyFingerprint && { keyFingerprint: node.keyFingerprint }),
      trustedAt: node.trustedAt ?? new Date().toISOString(),
    };
    this.write(data);
  }

  delete(name: string): boolean {
    const data = this.read();
    if (!(name in data.nodes)) return false;
    delete data.nodes[name];
    this.write(data);
    return true;
  }

  all(): Record<string, TrustedNode> {
    return this.read().nodes;
  }

  private read(): TrustFile {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, nodes: {} };
      throw err;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Trusting nothing is the safe reading of a damaged file; the user trusts again.
      return { version: 1, nodes: {} };
    }
    const nodes: Record<string, TrustedNode> = {};
    const raw = (parsed as { nodes?: unknown }).nodes;
    if (raw && typeof raw === 'object') {
      for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
        const n = v as Partial<TrustedNode> | null;
        if (!n || typeof n.nodeId !== 'string' || n.nodeId === '') continue;
        nodes[name] = {
          nodeId: n.nodeId,
          ...(typeof n.tokenFingerprint === 'string' && { tokenFingerprint: n.tokenFingerprint }),
          ...(typeof n.keyFingerprint === 'string' && { keyFingerprint: n.keyFingerprint }),
          ...(typeof n.trustedAt === 'string' && { trustedAt: n.trustedAt }),
        };
      }
    }
    return { version: 1, nodes };
  }

  private write(data: TrustFile): void {
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.${Date.now()}.tmp`;
    // 0600: the file decides who may receive prompts and tokens.
    writeFileSync(tmp, JSON.stringify(data, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}
