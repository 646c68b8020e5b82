import AgentClass from 'undici/lib/dispatcher/agent.js';
import api from 'undici/lib/api/index.js';
import DispatcherClass from 'undici/lib/dispatcher/dispatcher.js';
import PoolClass from 'undici/lib/dispatcher/pool.js';

/*
 * The part of undici Harombe uses (keep-alive pools and `dispatcher.request`), without undici's
 * index: the index also loads fetch, WebSocket, EventSource, the cache stores and the mocks,
 * about 9 MB of resident memory in every `harombe` process and in the extension host. The index
 * adds `request()` and friends to every dispatcher in exactly this way.
 */
Object.assign(DispatcherClass.prototype, api);

export const Agent = AgentClass;
export const Pool = PoolClass;
