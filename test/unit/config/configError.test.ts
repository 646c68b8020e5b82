import { strict as assert } from 'node:assert';
import { ConfigError, formatProblem, type ConfigProblem } from '../../../src/core/config/configError';

const tier: ConfigProblem = { file: '/w/.harombe/harombe.yaml', line: 7, column: 13, message: 'cluster.nodes[1].tier: expected an integer 0, 1 or 2, got 5', severity: 'error' };
const model: ConfigProblem = { file: '/w/.harombe/harombe.yaml', line: 3, column: 7, message: 'cluster.nodes[0]: missing required key "model" (model the node runs, e.g. qwen2.5:14b)', severity: 'error' };
const unknown: ConfigProblem = { file: '/home/u/.harombe/harombe.yaml', line: 2, column: 3, message: 'tools.shel: unknown key "shel", ignored', severity: 'warning' };
const missing: ConfigProblem = { file: '/x/nope.yaml', line: 0, column: 0, message: 'config file not found', severity: 'error' };

describe('ConfigError', () => {
  it('formats one file:line:col line per problem, errors first, warnings marked', () => {
    const e = new ConfigError([unknown, tier, model]);
    assert.equal(
      e.format(),
      [
        '/w/.harombe/harombe.yaml:7:13 cluster.nodes[1].tier: expected an integer 0, 1 or 2, got 5',
        '/w/.harombe/harombe.yaml:3:7 cluster.nodes[0]: missing required key "model" (model the node runs, e.g. qwen2.5:14b)',
        '/home/u/.harombe/harombe.yaml:2:3 warning: tools.shel: unknown key "shel", ignored',
      ].join('\n'),
    );
  });

  it('leaves out the position of a problem that has none', () => {
    assert.equal(formatProblem(missing), '/x/nope.yaml: config file not found');
  });

  it('is an Error whose message is the first error and how many more there are', () => {
    const e = new ConfigError([unknown, tier, model], { cause: 'why' });
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'ConfigError');
    assert.equal(e.message, `${formatProblem(tier)} (and 1 more)`);
    assert.equal(e.cause, 'why');
    assert.deepEqual(e.errors, [tier, model]);
    assert.equal(new ConfigError([missing]).message, '/x/nope.yaml: config file not found');
  });
});
