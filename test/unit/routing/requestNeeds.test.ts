import { strict as assert } from 'node:assert';
import type { NodeInfo } from '../../../src/core/nodes/nodeInfo';
import { capabilitiesNeeded, capabilityRequirement, NATIVE_API } from '../../../src/core/routing/requestNeeds';

function node(name: string, model: string, extra: Partial<NodeInfo> = {}): NodeInfo {
  return {
    name,
    host: '127.0.0.1',
    port: 11434,
    kind: 'ollama',
    tier: 0,
    model,
    source: 'config',
    state: 'available',
    inFlight: 0,
    maxParallel: 4,
    load: { running: 0, queued: 0, maxParallel: 4, at: 0, source: 'local' },
    models: [model],
    loadedModels: [],
    breaker: { state: 'closed' },
    capabilities: { has: [], lacks: [], source: 'unknown' },
    contextWindow: { tokens: 16384, source: 'chosen' },
    ...extra,
  };
}

const chatCaps = { has: ['completion', 'tools'] as NodeInfo['capabilities']['has'], lacks: ['insert', 'vision', 'thinking', 'embedding'] as NodeInfo['capabilities']['lacks'], source: 'reported' as const };
const embedCaps = { has: ['embedding'] as NodeInfo['capabilities']['has'], lacks: ['completion', 'tools', 'insert', 'vision', 'thinking'] as NodeInfo['capabilities']['lacks'], source: 'reported' as const };

describe('requestNeeds', () => {
  it('embeddings need `embedding`; a raw completion `completion`, and `insert` with a suffix', () => {
    assert.deepEqual(capabilitiesNeeded({ messages: [], work: { kind: 'embedding', input: ['x'] } }), ['embedding']);
    assert.deepEqual(capabilitiesNeeded({ messages: [], work: { kind: 'completion', prompt: 'a' } }), ['completion']);
    assert.deepEqual(capabilitiesNeeded({ messages: [], work: { kind: 'completion', prompt: 'a', suffix: 'b' } }), ['completion', 'insert']);
  });

  it('judges the model the node would be asked for: its own by its facts, another by the facts of a node whose model it is', () => {
    const chat = node('chat', 'qwen2.5:7b', { models: ['qwen2.5:7b', 'nomic-embed-text'], capabilities: chatCaps });
    const embedder = node('embedder', 'nomic-embed-text', { capabilities: embedCaps });
    const all = [chat, embedder];
    assert.equal(capabilityRequirement('embedding', 'qwen2.5:7b', all).met(chat), false, 'its own chat model cannot embed');
    assert.equal(capabilityRequirement('embedding', 'nomic-embed-text', all).met(chat), true, 'the embedding model it also has can');
    assert.equal(capabilityRequirement('embedding', 'nomic-embed-text', [chat]).met(chat), true, 'nothing known of that model: passes');
    assert.equal(capabilityRequirement('completion', 'nomic-embed-text', all).met(chat), false, 'no chat with an embedding model, wherever it is');
    assert.equal(capabilityRequirement('embedding').met(chat), false, 'without a model: the node\'s own');
    assert.match(capabilityRequirement('embedding', 'qwen2.5:7b', all).unmet(chat), /qwen2\.5:7b on chat does not embed/);
  });

  it('raw completions and embeddings pass over Harombe 0.3.1 workers', () => {
    assert.equal(NATIVE_API.met(node('old', 'm', { kind: 'harombe', api: 'complete' })), false);
    assert.equal(NATIVE_API.met(node('new', 'm', { kind: 'harombe', api: 'ollama' })), true);
    assert.equal(NATIVE_API.met(node('plain', 'm')), true);
  });
});
