import { strict as assert } from 'node:assert';
import { Coordinator } from '../../../src/core/coordinator';
import { extractCode } from '../../../src/vscode/extractCode';
import { modelAnswer } from '../../../src/vscode/modelAnswer';
import { startFakeCluster, type FakeCluster } from '../../fakes/fakeCluster';
import { ANSWER, DRAFT_CODE, FINAL_CODE, reasoning } from '../../fakes/reasoningSample';

// What Refactor with Tier… does with an answer (src/vscode/codeActions.ts): modelAnswer, then the longest fenced block.
describe('code actions read only the answer of a reasoning model', function () {
  this.timeout(20_000);
  let cluster: FakeCluster;
  let coordinator: Coordinator;
  afterEach(async () => {
    coordinator?.dispose();
    await cluster?.stop();
  });

  for (const [flavour, where] of [['ollama', 'content'], ['ollama', 'field'], ['openai', 'content'], ['openai', 'field'], ['python', 'content']] as const) {
    it(`${flavour} node, reasoning in the ${where}: the proposed code is the final answer's, not the longer draft's`, async () => {
      cluster = await startFakeCluster([{ name: 'r', tier: 2, flavour, model: 'qwen3:32b', options: { reply: ANSWER, reasoning: reasoning(where) } }], { health: { timeout: 0.5 } });
      coordinator = new Coordinator({ config: cluster.config });
      await coordinator.prober.sweep();
      const progress: string[] = [];
      const answer = await modelAnswer(
        coordinator,
        { messages: [{ role: 'user', content: 'Refactor total()' }], tier: 2, intent: 'refactor', prompt: 'Refactor total()', contextChars: 0, signal: new AbortController().signal },
        (text) => progress.push(text),
      );
      assert.equal(answer.text, ANSWER);
      assert.equal(extractCode(answer.text, 'python')?.trim(), FINAL_CODE);
      assert.ok(!progress.some((p) => p.includes(DRAFT_CODE)), 'the draft never shows as the answer in progress');
    });
  }
});
