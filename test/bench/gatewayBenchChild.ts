/**
 * A separate process for `gatewayBench`: two fake Ollama nodes (zero delay and 5 ms per token).
 * It prints one JSON line with their ports and runs until killed. (The bare pipe proxy is
 * pipeProxy.mjs, run by plain node.)
 */
import { FakeOllama } from '../fakes/fakeOllama';

async function fakes(): Promise<void> {
  const fast = await FakeOllama.start({ models: ['bench:fast'] });
  const slow = await FakeOllama.start({ models: ['bench:slow'], chunkDelayMs: 5 });
  process.stdout.write(JSON.stringify({ fast: fast.port, slow: slow.port }) + '\n');
}

void fakes();
