import { isIPv4 } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Bonjour, Browser, Service } from 'bonjour-service';
import { Emitter } from '../util/emitter';
import type { Disposable } from '../util/emitter';
import type { Logger } from '../util/logger';
import { silentLogger } from '../util/logger';
import { createBonjour } from './createBonjour';
import type { DiscoveredNode } from './nodeRegistry';

/**
 * A `harombe start` worker as its mDNS announcement describes it: the registry's DiscoveredNode
 * plus every address it announced. `name` is the announced instance name (unique on the LAN;
 * `onDidLose` names it again); `host` is the address the announcement came from, preferring IPv4
 * on one of our subnets.
 */
export interface DiscoveredWorker extends DiscoveredNode {
  /** Every address the worker announced (A/AAAA), for display and for a second try. */
  addresses: string[];
}

export interface MdnsBrowserOptions {
  /** IPv4 address of the interface to browse on; all interfaces when unset. */
  interface?: string;
  /** Address the mDNS socket binds to; with `interface: '127.0.0.1'` it must be `0.0.0.0` to receive multicast. */
  bind?: string;
  /** The config's `cluster.discovery.service`; `_harombe._tcp.local` when unset. */
  service?: string;
  /** Ask again this often (ms) in case an announcement was lost; 0 turns it off. Default 60 s. */
  requeryMs?: number;
  logger?: Logger;
}

/**
 * Browses the LAN for `_harombe._tcp` workers. A find fires again when a worker's announcement
 * changes (model, tier, port after a restart), so listeners should treat it as an upsert. A loss
 * fires only on a goodbye: a worker that died without one stays until health probes say otherwise.
 */
export class MdnsBrowser implements Disposable {
  private readonly findEmitter = new Emitter<DiscoveredWorker>();
  private readonly loseEmitter = new Emitter<string>();
  readonly onDidFind = this.findEmitter.event;
  readonly onDidLose = this.loseEmitter.event;

  private readonly bonjour: Bonjour;
  private readonly browser: Browser;
  private readonly known = new Map<string, DiscoveredWorker>();
  private readonly timer: NodeJS.Timeout | undefined;
  private disposed = false;

  constructor(opts: MdnsBrowserOptions = {}) {
    const logger = opts.logger ?? silentLogger;
    this.bonjour = createBonjour(opts, logger);

    const { type, protocol } = parseServiceType(opts.service ?? '_harombe._tcp.local');
    this.browser = this.bonjour.find({ type, protocol });
    const found = (s: Service) => this.found(s, logger);
    this.browser.on('up', found);
    this.browser.on('srv-update', found);
    this.browser.on('txt-update', found);
    this.browser.on('down', (s: Service) => {
      if (!this.known.delete(s.name)) return;
      logger.debug(`mDNS: ${s.name} said goodbye`);
      this.loseEmitter.fire(s.name);
    });
    const requeryMs = opts.requeryMs ?? 60_000;
    if (requeryMs > 0) {
      this.timer = setInterval(() => this.refresh(), requeryMs);
      this.timer.unref();
    }
  }

  /** Workers found and not lost so far. */
  get workers(): DiscoveredWorker[] {
    return [...this.known.values()];
  }

  /** Asks the LAN again; workers already known answer too, but only changes fire events. */
  refresh(): void {
    if (!this.disposed) this.browser.update();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.timer) clearInterval(this.timer);
    this.browser.stop();
    this.bonjour.destroy();
    this.findEmitter.dispose();
    this.loseEmitter.dispose();
  }

  private found(s: Service, logger: Logger): void {
    if (this.disposed || !s.name || !s.port) return;
    const txt = (s.txt ?? {}) as Record<string, unknown>;
    const str = (k: string) => (typeof txt[k] === 'string' && txt[k] !== '' ? (txt[k] as string) : undefined);
    const tier = Number(str('tier') ?? '0');
    const addresses = s.addresses ?? [];
    const worker: DiscoveredWorker = {
      name: s.name,
      host: pickHost(s.referer?.address, addresses, s.host),
      port: s.port,
      // What Harombe's Python release does with announcements that lack these.
      model: str('model') ?? 'unknown',
      tier: tier === 1 || tier === 2 ? tier : 0,
      nodeId: str('id'),
      version: str('version'),
      addresses,
    };
    this.known.set(worker.name, worker);
    logger.debug(`mDNS: found ${worker.name} at ${worker.host}:${worker.port} (${worker.model}, tier ${worker.tier})`);
    this.findEmitter.fire(worker);
  }
}

/** `_harombe._tcp.local` (or `_harombe._tcp`, `harombe`) → bonjour's `{ type: 'harombe', protocol: 'tcp' }`. */
function parseServiceType(service: string): { type: string; protocol: 'tcp' | 'udp' } {
  const m = /^_?([^.]+?)(?:\._(tcp|udp))?(?:\.local)?\.?$/i.exec(service.trim());
  return { type: m?.[1] ?? 'harombe', protocol: m?.[2]?.toLowerCase() === 'udp' ? 'udp' : 'tcp' };
}

/**
 * The source of the packet is the address that actually reached us; announced A records can include
 * VPN, docker or other interfaces we cannot route to. Prefer IPv4 on a subnet we share.
 */
function pickHost(referer: string | undefined, addresses: string[], hostName: string | undefined): string {
  const candidates = [...(referer ? [referer] : []), ...addresses.filter((a) => a !== referer)];
  const v4 = candidates.filter((a) => isIPv4(a));
  const local = v4.find(onLocalSubnet);
  return local ?? v4[0] ?? candidates[0] ?? hostName ?? '';
}

function onLocalSubnet(address: string): boolean {
  const ip = ipv4ToInt(address);
  for (const list of Object.values(networkInterfaces())) {
    for (const iface of list ?? []) {
      if (iface.family !== 'IPv4') continue;
      const mask = ipv4ToInt(iface.netmask);
      if ((ip & mask) === (ipv4ToInt(iface.address) & mask)) return true;
    }
  }
  return false;
}

function ipv4ToInt(a: string): number {
  return a.split('.').reduce((n, part) => ((n << 8) | Number(part)) >>> 0, 0);
}
