import { hostname } from 'node:os';
import type { Bonjour, Service } from 'bonjour-service';
import { createBonjour } from '../core/nodes/createBonjour';
import type { Logger } from '../core/util/logger';

/** The DNS-SD type workers announce and coordinators browse (`_harombe._tcp.local`). */
export const HAROMBE_SERVICE_TYPE = 'harombe';

export interface MdnsAnnouncerOptions {
  /** Instance name, unique on the LAN; bonjour replaces dots with dashes. */
  name: string;
  port: number;
  txt: { model: string; tier: number; version: string; id: string };
  /** IPv4 address of the interface to announce on; all interfaces when unset. */
  interface?: string;
  /** Address the mDNS socket binds to (multicast-dns's `bind`). */
  bind?: string;
  logger: Logger;
}

/**
 * Announces a worker as `_harombe._tcp` so coordinators with mDNS discovery find it, and says
 * goodbye (the records again with TTL 0) when stopped, so they drop it at once instead of waiting
 * for their health probes to fail.
 */
export class MdnsAnnouncer {
  /** Resolves true once the first announcement is on the wire, false if the name was taken. */
  readonly announced: Promise<boolean>;
  private readonly bonjour: Bonjour;
  private readonly service: Service;
  private stopping: Promise<void> | undefined;

  private constructor(private readonly opts: MdnsAnnouncerOptions) {
    const { logger } = opts;
    this.bonjour = createBonjour(opts, logger);

    const host = (hostname().split('.')[0] || 'harombe') + '.local';
    this.service = this.bonjour.publish({
      name: opts.name.slice(0, 63),
      type: HAROMBE_SERVICE_TYPE,
      protocol: 'tcp',
      port: opts.port,
      host,
      txt: { model: opts.txt.model, tier: String(opts.txt.tier), version: opts.txt.version, id: opts.txt.id },
    });
    this.announced = new Promise<boolean>((resolve) => {
      this.service.once('up', () => {
        logger.info(`mDNS: announced "${this.service.name}" as _harombe._tcp on port ${opts.port}`);
        resolve(true);
      });
      // bonjour stops a service whose name answered its probe, and only says so with console.log.
      const stop = this.service.stop;
      this.service.stop = (...args: unknown[]) => {
        if (!this.stopping) {
          logger.warn(`mDNS: the name "${this.service.name}" is already in use on the network; not announcing (choose another with --name)`);
          resolve(false);
        }
        return stop(...args);
      };
    });
  }

  static start(opts: MdnsAnnouncerOptions): MdnsAnnouncer {
    return new MdnsAnnouncer(opts);
  }

  get name(): string {
    return this.service.name;
  }

  /** Sends the goodbye and closes the socket; resolves after `timeoutMs` at the latest. */
  stop(timeoutMs = 1000): Promise<void> {
    this.stopping ??= new Promise<void>((resolve) => {
      const timer = setTimeout(finish, timeoutMs);
      let finished = false;
      const bonjour = this.bonjour;
      function finish() {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        try {
          bonjour.destroy(() => resolve());
        } catch {
          resolve();
        }
        // Closing a UDP socket does not hang in practice, but exiting must never depend on it.
        setTimeout(resolve, 250).unref();
      }
      try {
        this.bonjour.unpublishAll(() => {
          this.opts.logger.debug('mDNS: goodbye sent');
          finish();
        });
      } catch (err) {
        this.opts.logger.warn(`mDNS: could not send goodbye: ${(err as Error).message}`);
        finish();
      }
    });
    return this.stopping;
  }
}
