import { strict as assert } from 'node:assert';
import { CompleteClient } from '../../../src/core/inference/completeClient';
import { createInferenceClient } from '../../../src/core/inference/createInferenceClient';
import { createNodeDispatcher } from '../../../src/core/inference/nodeDispatcher';
import { OllamaClient } from '../../../src/core/inference/ollamaClient';
import { OpenAIClient } from '../../../src/core/inference/openaiClient';
import { FakeOllama } from '../../fakes/fakeOllama';
import { collect, endpointFor } from './clientHarness';

describe('createInferenceClient', () => {
  it('picks the client of each protocol', () => {
    const dispatcher = createNodeDispatcher({ connectTimeoutMs: 1000 });
    const endpoint = endpointFor('http://127.0.0.1:1');
    assert.ok(createInferenceClient('ollama', endpoint, dispatcher) instanceof OllamaClient);
    assert.ok(createInferenceClient('openai', endpoint, dispatcher) instanceof OpenAIClient);
    assert.ok(createInferenceClient('complete', endpoint, dispatcher) instanceof CompleteClient);
    return dispatcher.close();
  });

  it('every protocol answers through one shared node dispatcher against a worker of ours', async () => {
    const fake = await FakeOllama.start({ worker: { model: 'qwen2.5:7b', tier: 0 } });
    const dispatcher = createNodeDispatcher({ connectTimeoutMs: 1000 });
    try {
      for (const protocol of ['ollama', 'openai', 'complete'] as const) {
        const got = await collect(
          createInferenceClient(protocol, endpointFor(fake.url), dispatcher).chat({ model: 'qwen2.5:7b', messages: [{ role: 'user', content: 'hi' }] }),
        );
        assert.match(got.text, /^Hello from qwen2\.5:7b!/, protocol);
      }
      assert.deepEqual(
        fake.requests.map((r) => r.path),
        ['/api/chat', '/v1/chat/completions', '/api/complete'],
      );
    } finally {
      await fake.stop();
      await dispatcher.destroy();
    }
  });
});
