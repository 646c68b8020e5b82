import type { Capability, NodeHardware, NodeSource, NodeState } from './nodeInfo';
import type { ProbeResult, ReportedLoad } from './probeResult';

export type Health = Exclude<NodeState, 'untrusted'>;

/** What the registry knows about a node from probes and answers: everything but its identity and resources. */
export interface NodeHealthState {
  health: Health;
  stateReason: string | undefined;
  latencyMs: number | undefined;
  reportedLoad: number | undefined;
  /** The node's last report of its own load and when it was taken; undefined when it reports none. */
  load: (Required<Pick<ReportedLoad, 'running' | 'queued'>> & { maxParallel: number | undefined; at: number }) | undefined;
  models: string[];
  loadedModels: string[];
  lastSeen: number | undefined;
  api: 'ollama' | 'complete' | undefined;
  version: string | undefined;
  nodeId: string | undefined;
  hardware: NodeHardware | undefined;
  /** The server's own capability list for the node's model, and what it refused since. */
  capabilities: Capability[] | undefined;
  refused: Capability[];
  contextMax: number | undefined;
  contextLoaded: number | undefined;
  /** A window a context refusal proved, in tokens. */
  contextLearned: number | undefined;
  /** The host key the worker proved at its last answer (undefined: none, or not answered yet). */
  keyFingerprint: string | undefined;
  tokenRefused: boolean;
}

/** The parts of a node's identity a probe may change: a discovered worker's model, tier and parallelism are its own. */
export interface ProbedIdentity {
  source: NodeSource;
  trusted: boolean;
  model: string;
  tier: 0 | 1 | 2;
  maxParallel: number;
}

export interface FoldedProbe {
  state: NodeHealthState;
  identity: ProbedIdentity;
  /** Lines worth a log entry (a state change, a machine that answers with another id). */
  notes: { level: 'info' | 'warn'; message: string }[];
}

/** Weight of the newest probe in the latency average: smooth enough to ignore one slow probe, quick to follow a real change. */
const LATENCY_ALPHA = 0.3;

export function initialHealthState(): NodeHealthState {
  return {
    // Optimistic until the first probe: the coordinator fails over from a dead node anyway, and
    // a pessimistic start would refuse every prompt until the first sweep finished.
    health: 'available',
    stateReason: undefined,
    latencyMs: undefined,
    reportedLoad: undefined,
    load: undefined,
    models: [],
    loadedModels: [],
    lastSeen: undefined,
    api: undefined,
    version: undefined,
    nodeId: undefined,
    hardware: undefined,
    capabilities: undefined,
    refused: [],
    contextMax: undefined,
    contextLoaded: undefined,
    contextLearned: undefined,
    keyFingerprint: undefined,
    tokenRefused: false,
  };
}

/** Folds one health probe into a node's state; pure: the inputs are left as they were. */
export function foldProbe(name: string, current: Readonly<NodeHealthState>, identity: Readonly<ProbedIdentity>, result: ProbeResult): FoldedProbe {
  const state: NodeHealthState = { ...current };
  const next: ProbedIdentity = { ...identity };
  const notes: FoldedProbe['notes'] = [];
  if (current.health !== result.state || (result.state !== 'available' && current.stateReason !== result.reason)) {
    notes.push({ level: 'info', message: `node ${name}: ${result.state}${result.reason ? ` (${result.reason})` : ''}` });
  }
  state.health = result.state;
  state.stateReason = result.state === 'available' ? undefined : result.reason;
  if (result.latencyMs !== undefined) state.latencyMs = ewma(current.latencyMs, result.latencyMs);
  if (result.state === 'unavailable') {
    // What is loaded and running is a fact about now; a dead node has nothing loaded we could use.
    state.loadedModels = [];
    state.reportedLoad = undefined;
    state.load = undefined;
  } else {
    state.lastSeen = result.at;
    if (result.loadedModels) state.loadedModels = [...result.loadedModels];
    if (result.reportedLoad !== undefined) state.reportedLoad = result.reportedLoad;
    if (result.load) state.load = foldLoad(current.load, result.load, result.at);
  }
  if (result.models) state.models = [...result.models];
  if (result.api) state.api = result.api;
  if (result.version !== undefined) state.version = result.version;
  if (result.nodeId !== undefined) {
    // Trust belongs to a machine: a discovered node whose address now answers with another id is another machine.
    if (identity.source === 'mdns' && identity.trusted && current.nodeId !== undefined && current.nodeId !== result.nodeId) {
      notes.push({ level: 'warn', message: `node ${name} now answers as node id ${result.nodeId}, not ${current.nodeId}; untrusted until you trust it again` });
      next.trusted = false;
    }
    state.nodeId = result.nodeId;
  }
  if (result.hardware) state.hardware = { ...result.hardware };
  if (result.capabilities) {
    // A fresh list from the server replaces what refusals taught about the old one.
    if (!sameList(result.capabilities, current.capabilities)) state.refused = [];
    state.capabilities = [...result.capabilities];
  }
  if (result.contextMax !== undefined) state.contextMax = result.contextMax;
  if (result.contextLoaded !== undefined) state.contextLoaded = result.contextLoaded;
  // Only an answer says which key the node holds (or that it holds none); a timeout says nothing about it.
  if (result.latencyMs !== undefined) state.keyFingerprint = result.keyFingerprint;
  state.tokenRefused = result.tokenRefused === true;
  if (identity.source === 'mdns') {
    // A configured node's model, tier and parallelism are the user's; a discovered worker's are its own.
    if (result.maxParallel !== undefined) next.maxParallel = result.maxParallel;
    if (result.model !== undefined) next.model = result.model;
    if (result.tier !== undefined) next.tier = result.tier;
  }
  return { state, identity: next, notes };
}

/**
 * A new reading of the node's load, kept unless an older one arrives late (the fast load poll and
 * the health probe race): the newest reading wins.
 */
export function foldLoad(current: NodeHealthState['load'], reading: ReportedLoad, at: number): NodeHealthState['load'] {
  if (current && current.at > at) return current;
  return { running: reading.running, queued: reading.queued, maxParallel: reading.maxParallel, at };
}

function sameList(a: readonly string[], b: readonly string[] | undefined): boolean {
  return b !== undefined && a.length === b.length && a.every((x) => b.includes(x));
}

/** An exponentially weighted average of round trips. */
export function ewma(previous: number | undefined, sample: number): number {
  return previous === undefined ? sample : LATENCY_ALPHA * sample + (1 - LATENCY_ALPHA) * previous;
}
