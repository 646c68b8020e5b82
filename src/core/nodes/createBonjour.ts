import type { EventEmitter } from 'node:events';
import { Bonjour } from 'bonjour-service';
import type { ServiceConfig } from 'bonjour-service';
import type { Logger } from '../util/logger';

/**
 * A Bonjour instance for announcing or browsing, with multicast-dns's socket errors logged:
 * bonjour leaves them unhandled, which would crash the process (worker or extension host).
 */
export function createBonjour(opts: { interface?: string; bind?: string }, logger: Logger): Bonjour {
  // multicast-dns options, which bonjour passes through but types as a ServiceConfig.
  const mdnsOptions: Record<string, unknown> = {};
  if (opts.interface) mdnsOptions.interface = opts.interface;
  if (opts.bind) mdnsOptions.bind = opts.bind;
  const bonjour = new Bonjour(mdnsOptions as Partial<ServiceConfig>, (err: Error) => logger.warn(`mDNS: ${err.message}`));
  const mdns = (bonjour as unknown as { server: { mdns: EventEmitter } }).server.mdns;
  mdns.on('error', (err: Error) => logger.warn(`mDNS socket: ${err.message}`));
  mdns.on('warning', (err: Error) => logger.debug(`mDNS socket: ${err.message}`));
  return bonjour;
}
