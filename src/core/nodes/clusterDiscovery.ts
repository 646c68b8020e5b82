import { createHash } from 'node:crypto';
import { Emitter, type Disposable } from '../util/emitter';
import { silentLogger, type Logger } from '../util/logger';
import { MdnsBrowser, type DiscoveredWorker, type MdnsBrowserOptions } from './mdnsBrowser';
import type { NodeInfo } from './nodeInfo';
import type { NodeRegistry } from './nodeRegistry';
import type { TrustedNode, TrustStore } from './trustStore';

/** A node nobody trusted yet: the extension shows "New Harombe node … — Trust / Ignore". */
export interface DiscoveryNotice {
  name: string;
  model: string;
  tier: 0 | 1 | 2;
  host: string;
  port: number;
  nodeId?: string;
}

/** A trusted name announced by another machine (or a reinstalled one): it stays untrusted, and the user should be warned. */
export interface ImpostorNotice {
  name: string;
  expectedId: string;
  /** Undefined when the announcement carries no id at all. */
  actualId: string | undefined;
  host: string;
  /** `announcement` (mDNS TXT), `health` (the node's /health answered another id) or `key` (it could not prove the pinned host key). */
  via: 'announcement' | 'health' | 'key';
  /** For `key`: the pinned fingerprint and what the node proved (undefined: no key at all). */
  expectedKey?: string;
  actualKey?: string;
}

/** The browser's surface this class uses, so tests can drive it without multicast. */
export interface WorkerSource extends Disposable {
  readonly onDidFind: (listener: (w: DiscoveredWorker) => void) => Disposable;
  readonly onDidLose: (listener: (name: string) => void) => Disposable;
  readonly workers: DiscoveredWorker[];
  refresh(): void;
}

export interface ClusterDiscoveryOptions {
  registry: NodeRegistry;
  /** Probes one node now; a new node's state should not wait for the next sweep. */
  probe: (name: string) => Promise<unknown>;
  trustStore: TrustStore;
  /** Browser options (interface, bind, service); ignored when `source` is given. */
  mdns?: MdnsBrowserOptions;
  source?: WorkerSource;
  /** The token the user set for a node, if any; trust is pinned to it as well. */
  tokenFor?: (name: string) => string | undefined;
  logger?: Logger;
}

/**
 * Puts mDNS-discovered workers into the registry as `untrusted` and keeps trust pinned to a
 * machine: a name the user trusted is trusted again automatically only when it comes back with
 * the same node id (and token); any other machine under that name stays untrusted and is
 * reported as an impostor. Goodbyes remove the node at once; crashes are left to health probes.
 */
export class ClusterDiscovery implements Disposable {
  private readonly _onDidDiscover = new Emitter<DiscoveryNotice>();
  /** An unknown node appeared (once per name and id per session). */
  readonly onDidDiscover = this._onDidDiscover.event;
  private readonly _onDidDetectImpostor = new Emitter<ImpostorNotice>();
  /** A trusted name came back as another machine; it is untrusted (once per name and id per session). */
  readonly onDidDetectImpostor = this._onDidDetectImpostor.event;
  private readonly _onDidLose = new Emitter<string>();
  /** A node said goodbye and left the registry. */
  readonly onDidLose = this._onDidLose.event;

  private readonly registry: NodeRegistry;
  private readonly trustStore: TrustStore;
  private readonly logger: Logger;
  private readonly source: WorkerSource;
  private readonly opts: ClusterDiscoveryOptions;
  private readonly lastSeen = new Map<string, DiscoveredWorker>();
  /** `name\nid` pairs already reported, so re-announcements do not repeat notifications. */
  private readonly notified = new Set<string>();
  private readonly subscriptions: Disposable[] = [];
  private disposed = false;

  constructor(opts: ClusterDiscoveryOptions) {
    this.opts = opts;
    this.registry = opts.registry;
    this.trustStore = opts.trustStore;
    this.logger = opts.logger ?? silentLogger;
    this.source = opts.source ?? new MdnsBrowser({ ...opts.mdns, logger: opts.mdns?.logger ?? this.logger });
    this.subscriptions.push(
      this.source.onDidFind((w) => this.found(w)),
      this.source.onDidLose((name) => this.lost(name)),
      // /health carries the node id too; a machine that answers with another one is not the one trusted.
      this.registry.onDidChange((nodes) => {
        for (const n of nodes) {
          if (n.source !== 'mdns') continue;
          const pin = this.trustStore.get(n.name);
          if (!pin) continue;
          if (n.nodeId !== undefined && pin.nodeId !== n.nodeId) this.demote(n.name, pin.nodeId, n.nodeId, n.host, 'health', n.state !== 'untrusted');
          else this.checkKey(n, pin);
        }
      }),
    );
  }

  /** Workers the browser currently knows (found and not lost). */
  get workers(): DiscoveredWorker[] {
    return this.source.workers;
  }

  /** Asks the network again (e.g. when the user opens the node list). */
  refresh(): void {
    this.source.refresh();
  }

  /**
   * Trusts a discovered node and pins its name to its node id (and token) in the store, so it is
   * trusted again after restarts. Throws when the node is unknown or announced no id to pin.
   */
  trust(name: string): TrustedNode {
    const node = this.registry.get(name);
    if (!node || node.source !== 'mdns') throw new Error(`no discovered node named ${name}`);
    if (!node.nodeId) throw new Error(`${name} announces no node id, so trust cannot be pinned to it; add it to cluster.nodes instead`);
    const token = this.opts.tokenFor?.(name);
    const pin: TrustedNode = {
      nodeId: node.nodeId,
      ...(token && { tokenFingerprint: fingerprint(token) }),
      ...(node.keyFingerprint && { keyFingerprint: node.keyFingerprint }),
      trustedAt: new Date().toISOString(),
    };
    this.trustStore.set(name, pin);
    this.registry.trust(name);
    this.logger.info(`node ${name} trusted (node id ${node.nodeId}, ${node.keyFingerprint ? `key ${node.keyFingerprint}` : 'no host key: a Harombe 0.3.1 worker, pinned to its id only'})`);
    return pin;
  }

  /** Forgets the pin; a node currently trusted goes back to `untrusted`. Returns whether there was a pin. */
  untrust(name: string): boolean {
    const had = this.trustStore.delete(name);
    const node = this.registry.get(name);
    if (node?.source === 'mdns' && node.state !== 'untrusted') this.reAddUntrusted(name);
    return had;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const s of this.subscriptions) s.dispose();
    this.source.dispose();
    this._onDidDiscover.dispose();
    this._onDidDetectImpostor.dispose();
    this._onDidLose.dispose();
  }

  private found(w: DiscoveredWorker): void {
    if (this.disposed) return;
    this.lastSeen.set(w.name, w);
    const before = this.registry.get(w.name);
    const info = this.registry.upsertDiscovered({ name: w.name, host: w.host, port: w.port, model: w.model, tier: w.tier, nodeId: w.nodeId, version: w.version });
    if (!info) {
      this.logger.debug(`mDNS: ignoring ${w.name} at ${w.host}:${w.port}: a configured node has this name or address`);
      return;
    }
    const pin = this.trustStore.get(w.name);
    if (pin) {
      if (w.nodeId === pin.nodeId && this.tokenMatches(w.name, pin)) {
        // A pinned key is proved by a probe, not by an announcement anyone can copy: checkKey trusts it then.
        const known = this.registry.get(w.name);
        if (!pin.keyFingerprint || known?.keyFingerprint === pin.keyFingerprint) this.registry.trust(w.name);
      } else {
        // The registry keeps trust across re-announcements it thinks come from the same machine (an
        // announcement without an id, say); the pin decides, so make sure it is untrusted.
        if (this.registry.get(w.name)?.state !== 'untrusted') this.reAddUntrusted(w.name);
        this.reportImpostor({ name: w.name, expectedId: pin.nodeId, actualId: w.nodeId, host: w.host, via: 'announcement' });
      }
    } else if (!this.notified.has(`${w.name}\n${w.nodeId ?? ''}`) && info.state === 'untrusted') {
      this.notified.add(`${w.name}\n${w.nodeId ?? ''}`);
      this._onDidDiscover.fire({ name: w.name, model: w.model, tier: w.tier, host: w.host, port: w.port, ...(w.nodeId && { nodeId: w.nodeId }) });
    }
    if (!before || before.host !== w.host || before.port !== w.port || before.nodeId !== w.nodeId) {
      this.opts.probe(w.name).catch((err: unknown) => this.logger.debug(`probe of ${w.name}: ${(err as Error).message}`));
    }
  }

  private lost(name: string): void {
    if (this.disposed) return;
    this.lastSeen.delete(name);
    if (this.registry.removeDiscovered(name)) this._onDidLose.fire(name);
  }

  private demote(name: string, expectedId: string, actualId: string | undefined, host: string, via: ImpostorNotice['via'], trusted: boolean): void {
    // The registry already untrusts a discovered node whose /health changes id; this covers one that was trusted with that id.
    if (trusted) this.reAddUntrusted(name);
    this.reportImpostor({ name, expectedId, actualId, host, via });
  }

  /**
   * The host key, as SSH checks it: a pin without a key takes the first key a trusted node proves
   * (nodes trusted before workers had keys); a pinned key must be proved by every answer, and a
   * node that proves another key, or none, is untrusted and reported.
   */
  private checkKey(n: NodeInfo, pin: TrustedNode): void {
    if (!pin.keyFingerprint) {
      if (n.keyFingerprint && n.state !== 'untrusted') {
        this.trustStore.set(n.name, { ...pin, keyFingerprint: n.keyFingerprint });
        this.logger.info(`node ${n.name}: pinned its host key ${n.keyFingerprint} (first probe with a key since you trusted it)`);
      }
      return;
    }
    if (n.keyFingerprint === pin.keyFingerprint) {
      if (n.state === 'untrusted' && this.tokenMatches(n.name, pin)) this.registry.trust(n.name);
      return;
    }
    // Not yet probed (no key known): it simply stays untrusted until a probe answers.
    if (n.keyFingerprint === undefined && n.state === 'untrusted') return;
    if (n.state !== 'untrusted') this.reAddUntrusted(n.name);
    this.reportImpostor({ name: n.name, expectedId: pin.nodeId, actualId: n.nodeId, host: n.host, via: 'key', expectedKey: pin.keyFingerprint, actualKey: n.keyFingerprint });
  }

  private reportImpostor(notice: ImpostorNotice): void {
    const key = `${notice.name}\n${notice.actualId ?? ''}\n${notice.actualKey ?? ''}`;
    if (this.notified.has(key)) return;
    this.notified.add(key);
    this.logger.warn(
      notice.via === 'key'
        ? `node ${notice.name} at ${notice.host}: HOST KEY CHANGED. It proved ${notice.actualKey ?? 'no key at all'}, but you trusted ${notice.expectedKey}. ` +
            `Someone may be posing as it, or it was reinstalled; it stays untrusted. If you know why the key changed, run \`harombe node trust ${notice.name}\` again.`
        : `node ${notice.name} at ${notice.host} is not the machine you trusted under that name (node id ${notice.actualId ?? 'none'}, trusted ${notice.expectedId}); it stays untrusted`,
    );
    this._onDidDetectImpostor.fire(notice);
  }

  /** The registry has no "untrust": the node leaves and comes back fresh, which also drops its pooled connections. */
  private reAddUntrusted(name: string): void {
    const node = this.registry.get(name);
    if (!node || node.source !== 'mdns') return;
    const w = this.lastSeen.get(name);
    this.registry.removeDiscovered(name);
    this.registry.upsertDiscovered(
      w
        ? { name, host: w.host, port: w.port, model: w.model, tier: w.tier, nodeId: w.nodeId, version: w.version }
        : { name, host: node.host, port: node.port, model: node.model, tier: node.tier, nodeId: node.nodeId, version: node.version },
    );
    this.opts.probe(name).catch(() => undefined);
  }

  private tokenMatches(name: string, pin: TrustedNode): boolean {
    if (!pin.tokenFingerprint) return true;
    const token = this.opts.tokenFor?.(name);
    return token !== undefined && fingerprint(token) === pin.tokenFingerprint;
  }
}

/** sha256 of a token, hex: enough to tell tokens apart without keeping the token in the trust file. */
function fingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
