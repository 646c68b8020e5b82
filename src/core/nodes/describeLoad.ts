import type { NodeInfo } from './nodeInfo';

/**
 * A node's load as people read it: `3/4 running, 2 queued` with where it came from, `reported`
 * (the node said so) or `local count` (the node reports nothing usable, e.g. plain Ollama, so only
 * this coordinator's own requests are counted).
 */
export function describeLoad(n: Pick<NodeInfo, 'load'>, opts: { source?: boolean } = { source: true }): string {
  const l = n.load;
  const text = `${l.running}/${l.maxParallel} running${l.queued > 0 ? `, ${l.queued} queued` : ''}`;
  if (opts.source === false) return text;
  return `${text} (${l.source === 'reported' ? 'reported' : 'local count'})`;
}
