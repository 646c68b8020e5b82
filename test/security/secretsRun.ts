/**
 * `npm run test:secrets`: the issue's "grep every log, output channel and error message produced by
 * the whole test run for the tokens it used: 0 hits", over real processes. It runs last in
 * `npm test`, after every suite whose output it greps.
 *
 * 1. Runs the token flows of the CLI as real processes of the bundled dist/cli.js, every stdout and
 *    stderr captured to a file: two `harombe -v start --token-file` workers, clients that send
 *    them the right token, a wrong one, a malformed header, a token in the URL; `harombe -v
 *    cluster status|test`, `chat` and `config check` over nodes with tokens, one of which the
 *    worker rejects with 401; `harombe -v serve --token` with its 401s. Every HTTP answer is
 *    captured too.
 * 2. Greps all of that, plus the last `npm run test:integration` (both hosts: code-server.log,
 *    workbench.log, results.json, and everything under user-data/logs, which holds the extension's
 *    "Harombe" output channel), plus the console output of the last `test:unit`, `test:faults` and
 *    `test:e2e` (captured by captureOutput.ts: test output, failure messages, what servers under
 *    test print) and the logs of that e2e run's code-servers, for every token of testTokens.ts.
 *    Those suites take their tokens from testTokens.ts too. A hit fails the run with the file, the
 *    line and the text around it (the token itself redacted).
 *
 * It also fails when what it greps cannot have seen the tokens used: a flow that did not send its
 * token, an output channel log that is missing or does not show the integration tests' nodes with
 * tokens, a captured log that is missing, empty, unfinished, not from the same test run as the
 * others (finished more than an hour before the newest), or does not show the tests that use
 * tokens. Files that hold tokens on purpose (the token file, the harombe.yaml files) are inputs,
 * kept apart and not grepped. Loopback only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { FakeOllama } from '../fakes/fakeOllama';
import { harness, type CapturedRun } from '../vscode/harness';
import { findTokens, redactTokens, testTokens, type TestTokenName } from './testTokens';

const cliPath = path.join(harness.repoRoot, 'dist', 'cli.js');
const keepRuns = 5;

interface Captured {
  name: string;
  child: ChildProcess;
  /** stdout and stderr so far, for waiting on a line. */
  text(): string;
  exited: Promise<number | null>;
}

/** Where one run of this check keeps its inputs (not grepped) and everything it captured (grepped). */
interface SecretsRun {
  dir: string;
  inputs: string;
  output: string;
}

async function main(): Promise<number> {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: \`npm run test:secrets\` builds it first`);
  const run = prepareSecretsRun();
  console.log(`[secrets] run folder ${run.dir}`);
  const problems: string[] = [];
  await exerciseCli(run, problems);

  const files = [...listFiles(run.output)];
  const integration = integrationLogs(problems);
  files.push(...integration.files);
  files.push(...capturedLogs(problems, integration.finishedAt));
  const hits = scan(files);
  const bytes = files.reduce((n, f) => n + statSync(f).size, 0);
  console.log(`[secrets] grepped ${files.length} files (${(bytes / 1024).toFixed(0)} KiB) for ${Object.keys(testTokens).length} tokens`);
  for (const p of problems) console.error(`[secrets] ${p}`);
  for (const h of hits) console.error(`[secrets] TOKEN LEAK: ${h}`);
  if (problems.length === 0 && hits.length === 0) {
    console.log('secrets: 0 hits');
    return 0;
  }
  console.error(`secrets: ${hits.length} hit(s), ${problems.length} other problem(s)`);
  return 1;
}

function prepareSecretsRun(): SecretsRun {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  mkdirSync(harness.runs, { recursive: true });
  const old = readdirSync(harness.runs).filter((n) => n.startsWith('secrets-')).sort();
  for (const name of old.slice(0, Math.max(0, old.length - (keepRuns - 1)))) rmSync(path.join(harness.runs, name), { recursive: true, force: true });
  const dir = path.join(harness.runs, `secrets-${stamp}-${process.pid}`);
  const run = { dir, inputs: path.join(dir, 'inputs'), output: path.join(dir, 'output') };
  mkdirSync(run.inputs, { recursive: true });
  mkdirSync(run.output, { recursive: true });
  return run;
}

// ---------------------------------------------------------------------------------------------
// 1. The CLI flows

async function exerciseCli(run: SecretsRun, problems: string[]): Promise<void> {
  const expect = (ok: boolean, what: string) => {
    if (!ok) problems.push(`the flow did not go as planned, so the grep would prove less: ${what}`);
  };
  const ollama = await FakeOllama.start({ models: ['qwen2.5:3b'] });
  const live: Captured[] = [];
  try {
    const tokenFile = path.join(run.inputs, 'worker.token');
    writeFileSync(tokenFile, `${testTokens.worker}\n`);
    chmodSync(tokenFile, 0o600);
    const workerArgs = ['-v', 'start', '--token-file', tokenFile, '--host', '127.0.0.1', '--port', '0', '--no-mdns', '--ollama', ollama.url, '--model', 'qwen2.5:3b'];
    // Two workers with the same token: the config gives one of them the wrong token. Separate homes, separate node ids.
    const workerA = spawnCaptured(run, 'worker-a', [...workerArgs, '--tier', '0'], { HAROMBE_HOME: path.join(run.inputs, 'home-a') });
    live.push(workerA);
    const workerB = spawnCaptured(run, 'worker-b', [...workerArgs, '--tier', '1'], { HAROMBE_HOME: path.join(run.inputs, 'home-b') });
    live.push(workerB);
    const urlA = await waitFor(workerA, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
    const urlB = await waitFor(workerB, /listening on (http:\/\/127\.0\.0\.1:\d+)/);

    const http = new HttpLog(path.join(run.output, 'http-answers.log'));
    const chatBody = JSON.stringify({ model: 'qwen2.5:3b', messages: [{ role: 'user', content: 'hi' }], stream: false });
    expect((await http.call('worker', `${urlA}/api/chat`, { method: 'POST', body: chatBody, token: 'worker' })) === 200, 'the worker answers its own token');
    expect((await http.call('worker', `${urlA}/api/chat`, { method: 'POST', body: chatBody, token: 'wrong' })) === 401, 'the worker refuses a wrong token');
    expect((await http.call('worker', `${urlA}/api/tags`, {})) === 401, 'the worker refuses no token');
    expect((await http.call('worker', `${urlA}/api/tags`, { header: `Bearer ${testTokens.wrong} extra` })) === 401, 'the worker refuses a malformed header');
    expect((await http.call('worker', `${urlA}/v1/models`, { header: testTokens.wrong })) === 401, 'the worker refuses a header without Bearer');
    expect((await http.call('worker', `${urlA}/api/tags?token=${testTokens.wrong}`, {})) === 401, 'the worker refuses a token in the URL');
    expect((await http.call('worker', `${urlA}/api/complete`, { method: 'POST', body: JSON.stringify({ prompt: 'hi' }), token: 'wrong' })) === 401, 'the worker refuses /api/complete with a wrong token');

    const node = (name: string, url: string, tier: number, auth: string) => {
      const { hostname, port } = new URL(url);
      return { name, host: hostname, port: Number(port), model: 'qwen2.5:3b', tier, kind: 'harombe', auth };
    };
    const nodes = [
      node('w-good', urlA, 0, testTokens.worker),
      node('w-wrong', urlB, 1, testTokens.wrong),
      node('w-dead', 'http://127.0.0.1:1', 2, testTokens.dead),
    ];
    const config = (strategy: string) => ({ cluster: { routing: { fallback_strategy: strategy }, health: { timeout: 1 }, timeouts: { connect: 1 }, nodes } });
    const graceful = path.join(run.inputs, 'graceful.yaml');
    const strict = path.join(run.inputs, 'strict.yaml');
    const broken = path.join(run.inputs, 'broken.yaml');
    writeFileSync(graceful, JSON.stringify(config('graceful'), null, 2));
    writeFileSync(strict, JSON.stringify(config('strict'), null, 2));
    writeFileSync(broken, `cluster:\n  nodes:\n    - name: b\n      host: 127.0.0.1\n      port: 99999\n      model: m\n      tier: 0\n      auth: [${testTokens.wrong}]\n      auth_token: {x: ${testTokens.worker}}\n`);
    const cli = async (name: string, args: string[]) => {
      const p = spawnCaptured(run, name, args, { HAROMBE_HOME: path.join(run.inputs, 'home-cli') });
      live.push(p);
      return { code: await p.exited, text: p.text() };
    };

    const status = await cli('cluster-status', ['-v', '--config', graceful, 'cluster', 'status']);
    expect(status.code === 0 && /w-good/.test(status.text) && /w-wrong/.test(status.text), `cluster status exits 0 and lists the nodes (exit ${status.code})`);
    await cli('cluster-status-json', ['-v', '--config', graceful, 'cluster', 'status', '--json']);
    const test = await cli('cluster-test', ['-v', '--config', graceful, 'cluster', 'test', '--timeout', '5']);
    expect(test.code === 1 && /✅ w-good/.test(test.text) && /❌ w-wrong/.test(test.text) && /❌ w-dead/.test(test.text), `cluster test: w-good answers, w-wrong and w-dead fail (exit ${test.code})`);
    await cli('cluster-test-json', ['-v', '--config', graceful, 'cluster', 'test', '--json', '--timeout', '5']);
    const chatGood = await cli('chat-good', ['-v', '--config', graceful, 'chat', '--tier', '0', 'hello']);
    expect(chatGood.code === 0 && /Hello from qwen2\.5:3b/.test(chatGood.text), `chat through w-good answers (exit ${chatGood.code})`);
    await cli('chat-fallback', ['-v', '--config', graceful, 'chat', '--tier', '1', 'hello']);
    const chatStrict = await cli('chat-401', ['-v', '--config', strict, 'chat', '--tier', '1', 'hello']);
    expect(chatStrict.code !== 0, `chat that only w-wrong may answer fails (exit ${chatStrict.code})`);
    await cli('chat-401-json', ['-v', '--config', strict, 'chat', '--json', '--tier', '1', 'hello']);
    await cli('chat-dead', ['-v', '--config', strict, 'chat', '--tier', '2', 'hello']);
    const check = await cli('config-check-broken', ['-v', '--config', broken, 'config', 'check']);
    expect(check.code !== 0, `config check of a broken config with tokens fails (exit ${check.code})`);
    await cli('config-check', ['-v', '--config', graceful, 'config', 'check']);

    const gateway = spawnCaptured(run, 'gateway', ['-v', '--config', graceful, 'serve', '--port', '0', '--token', testTokens.gateway], { HAROMBE_HOME: path.join(run.inputs, 'home-gateway') });
    live.push(gateway);
    const gw = await waitFor(gateway, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
    const gwChat = JSON.stringify({ model: 'harombe', messages: [{ role: 'user', content: 'hi' }], stream: false });
    expect((await http.call('gateway', `${gw}/api/chat`, { method: 'POST', body: gwChat, token: 'gateway' })) === 200, 'the gateway answers its token (through w-good, with the worker token)');
    expect((await http.call('gateway', `${gw}/api/chat`, { method: 'POST', body: gwChat, token: 'wrong' })) === 401, 'the gateway refuses a wrong token');
    expect((await http.call('gateway', `${gw}/api/chat`, { method: 'POST', body: gwChat })) === 401, 'the gateway refuses no token');
    expect((await http.call('gateway', `${gw}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'harombe', messages: [{ role: 'user', content: 'hi' }] }), token: 'wrong' })) === 401, 'the OpenAI route refuses a wrong token');
    await http.call('gateway', `${gw}/v1/models?api_key=${testTokens.wrong}`, {});
    await http.call('gateway', `${gw}/cluster/status`, { token: 'gateway' });
    await http.call('gateway', `${gw}/metrics`, { token: 'gateway' });
    await http.call('gateway', `${gw}/health`, {});
    // A tier 1 request: w-wrong answers 401 to the gateway, which falls back (graceful).
    await http.call('gateway', `${gw}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'harombe:tier1', messages: [{ role: 'user', content: 'hi' }], stream: false }), token: 'gateway' });
    await http.close();

    for (const p of [gateway, workerA, workerB]) p.child.kill('SIGTERM');
    const codes = await Promise.all([gateway, workerA, workerB].map((p) => p.exited));
    expect(codes.every((c) => c === 0), `workers and gateway exit 0 on SIGTERM (${codes.join(', ')})`);
    expect(/rejected POST \/api\/chat/.test(workerA.text()), 'worker-a logged its 401s (the error path was exercised)');
    expect(/rejected|401|unauthorized/i.test(workerB.text()), 'worker-b logged the 401s it gave w-wrong');
  } finally {
    for (const p of live) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(live.map((p) => p.exited));
    await ollama.stop();
  }
}

/** Starts the bundled CLI with stdout and stderr going to output/<name>.out|.err (and kept in memory). */
function spawnCaptured(run: SecretsRun, name: string, args: string[], env: Record<string, string>): Captured {
  const child = spawn(process.execPath, [cliPath, ...args], {
    cwd: run.inputs,
    env: { ...process.env, NO_COLOR: '1', HAROMBE_CONFIG: '', HAROMBE_AUTH_TOKEN: '', HAROMBE_GATEWAY_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  writeFileSync(path.join(run.output, `${name}.cmd`), `harombe ${args.map((a) => redactTokens(a)).join(' ')}\n`);
  let text = '';
  const files = { stdout: createWriteStream(path.join(run.output, `${name}.out`)), stderr: createWriteStream(path.join(run.output, `${name}.err`)) };
  const closed: Promise<void>[] = [];
  for (const stream of ['stdout', 'stderr'] as const) {
    child[stream].on('data', (chunk: Buffer) => {
      text += chunk.toString();
      files[stream].write(chunk);
    });
    closed.push(new Promise((resolve) => child[stream].once('close', () => files[stream].end(resolve))));
  }
  // Settles once the process is gone and both files are complete on disk.
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => void Promise.all(closed).then(() => resolve(code))));
  return { name, child, text: () => text, exited };
}

async function waitFor(p: Captured, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const m = pattern.exec(p.text());
    if (m) return m[1] as string;
    if (p.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${p.name} did not print ${pattern} (exit ${p.child.exitCode}):\n${redactTokens(p.text())}`);
}

/** Makes HTTP calls and writes each answer (status, headers, body) to one file, which is grepped with the rest. */
class HttpLog {
  private readonly out;

  constructor(file: string) {
    this.out = createWriteStream(file);
  }

  async call(to: string, url: string, opts: { method?: string; body?: string; token?: TestTokenName; header?: string }): Promise<number> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (opts.token) headers.authorization = `Bearer ${testTokens[opts.token]}`;
    if (opts.header) headers.authorization = opts.header;
    const sent = opts.token ? `token ${opts.token}` : opts.header ? 'an odd authorization header' : 'no token';
    const method = opts.method ?? 'GET';
    try {
      const response = await fetch(url, { method, headers, body: opts.body, signal: AbortSignal.timeout(15_000) });
      const body = await response.text();
      this.out.write(`== ${to}: ${method} ${redactTokens(new URL(url).pathname)} with ${sent} -> ${response.status}\n`);
      this.out.write(`${[...response.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${body}\n\n`);
      return response.status;
    } catch (err) {
      this.out.write(`== ${to}: ${method} ${new URL(url).pathname} with ${sent} -> ${String(err)}\n\n`);
      return 0;
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.out.end(resolve));
  }
}

// ---------------------------------------------------------------------------------------------
// 2. The integration run's logs

/**
 * The files of the last integration run that hold what was logged or printed: the runner's logs,
 * the results (failure messages), and code-server's logs folder, where the extension host writes
 * each extension's LogOutputChannel as user-data/logs/<session>/exthost<N>/<extension id>/<name>.log
 * (and plain output channels as exthost<N>/output_logging_<time>/<n>-<name>.log). The workspace
 * (configs with tokens on purpose) and the profile's storage are not logs and are not grepped.
 */
function integrationLogs(problems: string[]): { files: string[]; finishedAt?: number } {
  if (!existsSync(harness.lastIntegration)) {
    problems.push(`${harness.lastIntegration} is missing: run \`npm run test:integration\` first (the check greps its logs)`);
    return { files: [] };
  }
  const last = JSON.parse(readFileSync(harness.lastIntegration, 'utf8')) as { finishedAt: string; runDirs: string[] };
  const ageH = (Date.now() - Date.parse(last.finishedAt)) / 3_600_000;
  console.log(`[secrets] integration run of ${last.finishedAt}${ageH > 1 ? ` (${ageH.toFixed(1)} h ago)` : ''}: ${last.runDirs.join(', ')}`);
  const files: string[] = [];
  for (const dir of last.runDirs) {
    if (!existsSync(dir)) {
      problems.push(`${dir} (named by ${harness.lastIntegration}) is gone`);
      continue;
    }
    const logs = runFolderLogs(dir);
    files.push(...logs);
    const channels = logs.filter((f) => /[/\\]exthost\d*[/\\]/.test(f) && /Harombe\.log$/.test(f));
    if (channels.length === 0) {
      problems.push(`no "Harombe" output channel log under ${path.join(dir, 'user-data', 'logs')}: the extension's log was not found, so it was not grepped`);
      continue;
    }
    console.log(`[secrets] output channel: ${channels.map((c) => path.relative(dir, c)).join(', ')}`);
    if (path.basename(dir).startsWith('integration-')) {
      const text = channels.map((c) => readFileSync(c, 'utf8')).join('\n');
      // Proof that the log covers the nodes with tokens (test/integration/secrets.test.ts) at trace level.
      for (const needed of ['tok-rejects', 'tok-dead', 'tok-stored']) {
        if (!text.includes(needed)) problems.push(`the Harombe output channel of ${dir} never mentions node ${needed}: did test/integration/secrets.test.ts run (HAROMBE_TEST_GREP)?`);
      }
      if (!/\[(trace|debug)\]/.test(text)) problems.push(`the Harombe output channel of ${dir} has no trace or debug line: it was not logged at trace level`);
    }
  }
  return { files, finishedAt: Date.parse(last.finishedAt) };
}

/** What a code-server run folder holds that was logged or printed: its own files (not screenshots) and user-data/logs. */
function runFolderLogs(dir: string): string[] {
  const files = readdirSync(dir)
    .map((name) => path.join(dir, name))
    .filter((file) => statSync(file).isFile() && !file.endsWith('.png'));
  return [...files, ...listFiles(path.join(dir, 'user-data', 'logs'))];
}

// ---------------------------------------------------------------------------------------------
// 3. The console output of the other suites

/**
 * The suites whose console output captureOutput.ts keeps, and the tests whose titles must appear
 * in it: the ones that hand out tokens, so a log without them (a --grep, a crash before they ran)
 * cannot prove anything. A string is a test title, matched as a whole line of mocha's output; a
 * pattern may match any line.
 */
const capturedSuites: { name: string; script: string; mustShow: (string | RegExp)[] }[] = [
  {
    name: 'unit',
    script: 'test:unit',
    mustShow: [
      'requires the bearer token when one is set, except on /health',
      'accepts exactly the token, with the scheme in any case',
      'registers enabled config nodes only, with their token (auth, else auth_token), endpoint and timeouts',
      'lists /v1/models with the bearer token',
      'sends the bearer token; a wrong one → auth',
      'sends the bearer token; without it the node answers 401 → auth',
      'turns a missing or wrong token into auth, without the token in the message',
      'requires the API key when a token is set',
      'answers 401 without detail to a missing, wrong or malformed token on every route but /health, and forwards nothing',
      'takes the token from --token-file over $HAROMBE_AUTH_TOKEN over server.auth_token, and never logs it',
      'a coordinator whose nodes carry tokens: chat, a dead node, health sweeps',
    ],
  },
  // The official openai client sends testTokens.anyKey through the gateway to the nodes.
  { name: 'faults', script: 'test:faults', mustShow: [/\] → gateway, openai client$/] },
  // No e2e test uses a token yet; the log still has to be there, finished and from this test run.
  { name: 'e2e', script: 'test:e2e', mustShow: [] },
];

/** A captured run that finished this long before the newest one grepped is from another test run. */
const sameRunWindowMs = 3_600_000;

/**
 * The logs of the last `test:unit`, `test:faults` and `test:e2e` (and the code-server folders of
 * that e2e run), checked for being complete, recent and showing the tests that use tokens.
 */
function capturedLogs(problems: string[], integrationFinishedAt: number | undefined): string[] {
  const files: string[] = [];
  const finished: { what: string; at: number; script: string }[] = integrationFinishedAt === undefined ? [] : [{ what: 'the last integration run', at: integrationFinishedAt, script: 'test:integration' }];
  for (const suite of capturedSuites) {
    const log = path.join(harness.capturedOutput, `${suite.name}.log`);
    const recordFile = path.join(harness.capturedOutput, `${suite.name}.json`);
    const again = `run \`npm run ${suite.script}\` (the check greps its output)`;
    if (!existsSync(log) || !existsSync(recordFile)) {
      problems.push(`${log} is missing: ${again}`);
      continue;
    }
    files.push(log);
    const record = JSON.parse(readFileSync(recordFile, 'utf8')) as CapturedRun;
    const size = statSync(log).size;
    const ended = record.finishedAt ? `finished ${record.finishedAt}, ${record.signal ? `killed by ${record.signal}` : `exit ${record.exitCode}`}` : 'not finished';
    console.log(`[secrets] ${suite.name} output: ${path.relative(harness.repoRoot, log)} (${size < 1024 ? `${size} B` : `${(size / 1024).toFixed(0)} KiB`}, ${ended})`);
    if (!record.finishedAt) {
      problems.push(`${log} is from a run that never finished (interrupted, or still running): ${again}`);
      continue;
    }
    finished.push({ what: log, at: Date.parse(record.finishedAt), script: suite.script });
    if (size === 0) {
      problems.push(`${log} is empty, so the grep saw nothing: ${again}`);
      continue;
    }
    const lines = readFileSync(log, 'utf8').split('\n');
    if (!lines.some((l) => /^\s*\d+ passing\b/.test(l))) problems.push(`${log} has no mocha summary ("N passing"): the run did not get to the end, so the grep saw only part of it: ${again}`);
    const titles = new Set(lines.map((l) => l.replace(/^\s*(?:[✔✓√]|\d+\))\s+/, '').replace(/\s+\(\d+ms\)$/, '').trim()));
    const unseen = suite.mustShow.filter((needed) =>
      typeof needed === 'string' ? !titles.has(needed) : !lines.some((l) => needed.test(l.trimEnd().replace(/\s+\(\d+ms\)$/, ''))),
    );
    if (unseen.length > 0) problems.push(`${log} does not show ${unseen.length} of the tests that use test tokens (--grep, renamed?): ${unseen.map((t) => JSON.stringify(String(t))).join(', ')}: ${again}`);
    if (suite.name === 'e2e') files.push(...e2eRunFolderLogs(Date.parse(record.startedAt), Date.parse(record.finishedAt)));
  }
  const newest = Math.max(...finished.map((f) => f.at));
  for (const f of finished) {
    if (newest - f.at > sameRunWindowMs) problems.push(`${f.what} is stale: it finished ${((newest - f.at) / 3_600_000).toFixed(1)} h before the newest run grepped, so it is not from the same test run: run \`npm run ${f.script}\` again (\`npm test\` runs them all)`);
  }
  return files;
}

/** The code-server folders (prepareRun's `e2e-<ISO time>-<pid>`) that the e2e run of startedAt..finishedAt made, and kept. */
function e2eRunFolderLogs(startedAt: number, finishedAt: number): string[] {
  const dirs = readdirSync(harness.runs).filter((name) => {
    const m = /^e2e-(\d{4}-\d\d-\d\dT\d\d)-(\d\d)-(\d\d)-(\d{3})Z-/.exec(name);
    const at = m ? Date.parse(`${m[1]}:${m[2]}:${m[3]}.${m[4]}Z`) : NaN;
    return at >= startedAt && at <= finishedAt;
  });
  const files = dirs.flatMap((name) => runFolderLogs(path.join(harness.runs, name)));
  console.log(`[secrets] e2e code-server folders: ${dirs.length} of that run (${files.length} files; prepareRun keeps the last 5)`);
  return files;
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => path.join(dir, name))
    .filter((file) => statSync(file).isFile());
}

/** Every hit as `file:line: context`, with the tokens in the context redacted. */
function scan(files: string[]): string[] {
  const hits: string[] = [];
  for (const file of files) {
    const text = readFileSync(file).toString('latin1');
    for (const hit of findTokens(text)) {
      const line = text.slice(0, hit.index).split('\n').length;
      const context = text.slice(Math.max(0, hit.index - 160), hit.index + hit.length + 80);
      hits.push(`${file}:${line}: the ${hit.name} token in\n    …${redactTokens(context).replace(/\n/g, '\n    ')}…`);
    }
  }
  return hits;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`[secrets] FAILED: ${redactTokens(error instanceof Error ? (error.stack ?? error.message) : String(error))}`);
    process.exit(1);
  },
);
