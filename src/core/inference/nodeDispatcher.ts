import type { Agent as UndiciAgent } from 'undici';
import { Agent } from './undiciCore';
import type { Endpoint } from './types';

export interface NodeDispatcherOptions {
  /** Most sockets open to the node at once; undici queues requests beyond it. Unlimited when absent. */
  connections?: number;
  /** How long an idle keep-alive socket is kept, in ms (the node's own Keep-Alive hint wins when shorter). */
  keepAliveTimeoutMs?: number;
}

/**
 * The keep-alive pool for one node, shared by every request to it. Clients enforce the endpoint's
 * connect and stall timeouts themselves; the Agent's connect timeout is set too so that a socket
 * opened for a request that has already given up does not linger for undici's default 10 s.
 */
export function createNodeDispatcher(endpoint: Pick<Endpoint, 'connectTimeoutMs'>, opts: NodeDispatcherOptions = {}): UndiciAgent {
  return new Agent({
    connect: { timeout: endpoint.connectTimeoutMs },
    connections: opts.connections ?? null,
    keepAliveTimeout: opts.keepAliveTimeoutMs ?? 30_000,
    keepAliveMaxTimeout: Math.max(opts.keepAliveTimeoutMs ?? 30_000, 60_000),
  });
}
