import { strict as assert } from 'node:assert';
import { prometheusLoad, slotsLoad, workerLoad } from '../../../src/core/nodes/loadReadings';

describe('load readings (what nodes report of their own load)', () => {
  it('reads a harombe worker /load', () => {
    assert.deepEqual(workerLoad({ running: 3, queued: 2, max_parallel: 4, max_queue: 4 }), { running: 3, queued: 2, maxParallel: 4 });
    assert.equal(workerLoad({ in_flight: 3 }), undefined, 'an older worker without running/queued reports nothing usable');
  });

  it('reads vLLM /metrics gauges, summed over engines', () => {
    const text = [
      '# HELP vllm:num_requests_running Number of requests in model execution batches.',
      '# TYPE vllm:num_requests_running gauge',
      'vllm:num_requests_running{engine="0",model_name="qwen"} 3.0',
      'vllm:num_requests_running{engine="1",model_name="qwen"} 1.0',
      'vllm:num_requests_waiting{engine="0",model_name="qwen"} 2.0',
      'vllm:kv_cache_usage_perc{engine="0",model_name="qwen"} 0.4',
    ].join('\n');
    assert.deepEqual(prometheusLoad(text), { running: 4, queued: 2 });
  });

  it('reads llama.cpp /metrics (requests_processing, requests_deferred)', () => {
    const text = '# TYPE llamacpp:requests_processing gauge\nllamacpp:requests_processing 2\nllamacpp:requests_deferred 5\n';
    assert.deepEqual(prometheusLoad(text), { running: 2, queued: 5 });
    assert.equal(prometheusLoad('process_cpu_seconds_total 12\n'), undefined);
  });

  it('reads llama.cpp /slots: busy slots, and the slot count as its parallelism', () => {
    assert.deepEqual(slotsLoad([{ id: 0, is_processing: true }, { id: 1, is_processing: false }, { id: 2, is_processing: true }]), { running: 2, queued: 0, maxParallel: 3 });
    assert.equal(slotsLoad({ error: 'slots disabled' }), undefined);
  });
});
