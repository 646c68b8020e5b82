import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  configReferenceEnd,
  configReferenceStart,
  describeSchema,
  extractConfigReference,
  renderConfigReference,
  spliceConfigReference,
} from '../../../src/core/config/describeSchema';
import { harombeConfigSchema } from '../../../src/core/config/schema';
import { strictTests } from '../../vscode/strictTests';

/** Every leaf path of a plain value, lists written as `[]`, the way reference rows name keys. */
function leafPaths(value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [prefix];
  return Object.entries(value).flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k));
}

describe('describeSchema', () => {
  const rows = describeSchema();
  const row = (path: string) => {
    const r = rows.find((x) => x.path === path);
    assert.ok(r, `no row for ${path}`);
    return r;
  };

  it('describes types, defaults and required keys from the schema', () => {
    assert.deepEqual(row('cluster.nodes[].port'), {
      path: 'cluster.nodes[].port',
      type: 'integer 1–65535',
      default: '8000',
      required: false,
      description: 'Port of the node (`harombe start` listens on 8000, Ollama on 11434).',
    });
    assert.equal(row('cluster.nodes[].tier').type, 'integer 0, 1 or 2');
    assert.equal(row('cluster.nodes[].tier').required, true);
    assert.equal(row('cluster.nodes[].name').required, true);
    assert.equal(row('cluster.nodes[].auth').required, false);
    assert.equal(row('cluster.nodes[].auth').default, '');
    assert.equal(row('cluster.routing.fallback_strategy').type, 'graceful | strict');
    assert.equal(row('cluster.routing.fallback_strategy').default, 'graceful');
    assert.equal(row('model.temperature').type, 'number 0–2');
    assert.equal(row('cluster.health.interval').type, 'number > 0');
    assert.equal(row('agent.max_steps').type, 'integer 1–50');
    assert.equal(row('tools.shell').type, 'boolean');
    assert.equal(row('tools.shell').default, 'true');
    assert.equal(row('server.cors_origins').type, 'list of strings');
    assert.equal(row('cluster.nodes').type, 'list');
    assert.equal(row('cluster.nodes').default, '[]');
  });

  it('has a row, with a description, for every key the loaded defaults contain', () => {
    const defaults = harombeConfigSchema.parse({});
    const paths = leafPaths(defaults).filter((p) => p !== 'cluster.nodes');
    for (const p of paths) assert.ok(row(p).description.length > 0, `${p} has no description`);
    for (const r of rows) assert.ok(r.description.length > 0, `${r.path} has no description`);
  });

  it('renders a markdown table with pipes in cells escaped', () => {
    const md = renderConfigReference();
    const lines = md.split('\n');
    assert.equal(lines[0], '| Key | Type | Default | Description |');
    assert.equal(lines.length, rows.length + 2);
    assert.ok(lines.includes('| `cluster.routing.fallback_strategy` | graceful \\| strict | `graceful` | `graceful`: try adjacent tiers when the chosen tier is down; `strict`: fail instead. |'));
    assert.ok(lines.some((l) => l.startsWith('| `cluster.nodes[].model` | string | *required* |')));
  });

  it('splices the reference between the README markers, and leaves text without markers alone', () => {
    const stale = `# Title\n\n${configReferenceStart}\nold table\n${configReferenceEnd}\n\nmore\n`;
    const fresh = spliceConfigReference(stale);
    assert.equal(extractConfigReference(fresh), renderConfigReference());
    assert.ok(fresh.startsWith('# Title\n\n'));
    assert.ok(fresh.endsWith(`${configReferenceEnd}\n\nmore\n`));
    assert.equal(spliceConfigReference(fresh), fresh, 'splicing is idempotent');
    assert.equal(spliceConfigReference('no markers here'), 'no markers here');
    assert.equal(extractConfigReference('no markers here'), undefined);
  });

  it('matches the block in README.md, once README.md has one', function () {
    const readmePath = resolve(__dirname, '../../../README.md');
    const block = existsSync(readmePath) ? extractConfigReference(readFileSync(readmePath, 'utf8')) : undefined;
    if (block === undefined) strictTests.skip(this, `${readmePath} has no configuration reference between its markers`);
    assert.equal(
      block,
      renderConfigReference(),
      'README.md is out of date; regenerate it with: npx tsx -e "const fs=require(\'fs\');const {spliceConfigReference}=require(\'./src/core/config/describeSchema\');fs.writeFileSync(\'README.md\',spliceConfigReference(fs.readFileSync(\'README.md\',\'utf8\')))"',
    );
  });
});
