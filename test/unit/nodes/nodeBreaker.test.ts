import { strict as assert } from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { NodeError, type NodeErrorKind } from '../../../src/core/inference/nodeError';
import { CircuitOpenError } from '../../../src/core/nodes/circuitOpenError';
import { breakerOptionsFromConfig, NodeBreaker, type BreakerOptions } from '../../../src/core/nodes/nodeBreaker';
import type { BreakerState } from '../../../src/core/nodes/nodeInfo';
import type { CancelSignal } from '../../../src/core/util/canceller';

const OPTIONS: BreakerOptions = { failureThreshold: 5, halfOpenAfterMs: 200, successThreshold: 2, halfOpenTimeoutMs: 150 };

describe('NodeBreaker', () => {
  let breaker: NodeBreaker;
  let states: BreakerState[];

  beforeEach(() => {
    breaker = new NodeBreaker('gpu-box', OPTIONS);
    states = [];
    breaker.onDidChangeState((s) => states.push(s));
  });
  afterEach(() => breaker.dispose());

  const fail = (kind: NodeErrorKind = 'refused') =>
    assert.rejects(
      breaker.execute(async () => {
        throw new NodeError(kind, `${kind} failure`);
      }),
      (err: unknown) => err instanceof NodeError && err.kind === kind,
    );
  const succeed = async () => assert.equal(await breaker.execute(async () => 'ok'), 'ok');
  const failTimes = async (n: number, kind?: NodeErrorKind) => {
    for (let i = 0; i < n; i++) await fail(kind);
  };
  const openAndCoolDown = async () => {
    await failTimes(5);
    assert.equal(breaker.state, 'open');
    await cooledDown();
    assert.equal(breaker.state, 'half-open');
  };
  /** The breaker says when its cooldown ends (open → half-open): wait for that, not for a guessed time. */
  const cooledDown = () =>
    new Promise<void>((resolve) => {
      const sub = breaker.onDidChangeState((s) => {
        if (s !== 'half-open') return;
        sub.dispose();
        resolve();
      });
    });
  /** Resolves once `fn` has been called: the request is in flight. */
  const called = async (isCalled: () => boolean) => {
    while (!isCalled()) await sleep(1);
  };

  it('stays closed through 4 consecutive failures and opens at the 5th, with retryAt', async () => {
    await failTimes(4);
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.canAttempt(), true);
    const before = Date.now();
    await fail();
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.canAttempt(), false);
    const retryAt = breaker.retryAt;
    assert.ok(retryAt !== undefined, 'retryAt is set while open');
    assert.ok(retryAt >= before + OPTIONS.halfOpenAfterMs && retryAt <= Date.now() + OPTIONS.halfOpenAfterMs, `retryAt ${retryAt - before} ms ahead`);
    assert.deepEqual(states, ['open']);
  });

  it('refuses with a CircuitOpenError naming the node and retryAt, without calling fn, while open', async () => {
    await failTimes(5);
    let called = false;
    await assert.rejects(
      breaker.execute(async () => {
        called = true;
      }),
      (err: unknown) => err instanceof CircuitOpenError && err.node === 'gpu-box' && err.retryAt === breaker.retryAt && err.retryAt !== undefined,
    );
    assert.equal(called, false);
  });

  it('counts only consecutive failures: a success in between starts the count over', async () => {
    await failTimes(4);
    await succeed();
    await failTimes(4);
    assert.equal(breaker.state, 'closed');
    await fail();
    assert.equal(breaker.state, 'open');
  });

  it('does not count busy, rate-limited, aborted or foreign errors, and they do not reset the count either', async () => {
    await failTimes(6, 'busy');
    await failTimes(6, 'rate_limited');
    await failTimes(6, 'aborted');
    await assert.rejects(
      breaker.execute(async () => {
        throw new Error('not a node error');
      }),
      /not a node error/,
    );
    assert.equal(breaker.state, 'closed');
    await failTimes(4);
    await fail('busy');
    assert.equal(breaker.state, 'closed');
    await fail('http');
    assert.equal(breaker.state, 'open');
  });

  it('turns half-open after the cooldown (announcing it) and lets exactly one trial through at a time', async () => {
    await openAndCoolDown();
    assert.deepEqual(states, ['open', 'half-open'], 'the cooldown end is announced without a request');
    assert.equal(breaker.retryAt, undefined);
    assert.equal(breaker.canAttempt(), true);
    let release!: () => void;
    const trial = breaker.execute(() => new Promise<string>((resolve) => (release = () => resolve('trial'))));
    await called(() => release !== undefined);
    assert.equal(breaker.canAttempt(), false, 'no second trial while one is in flight');
    await assert.rejects(
      breaker.execute(async () => 'second'),
      (err: unknown) => err instanceof CircuitOpenError && err.retryAt === undefined,
    );
    release();
    assert.equal(await trial, 'trial');
    assert.equal(breaker.canAttempt(), true);
  });

  it('closes only after 2 successful trials', async () => {
    await openAndCoolDown();
    await succeed();
    assert.equal(breaker.state, 'half-open', 'one success is not enough');
    assert.equal(breaker.canAttempt(), true);
    await succeed();
    assert.equal(breaker.state, 'closed');
    assert.deepEqual(states, ['open', 'half-open', 'closed']);
  });

  it('re-opens when the first trial fails', async () => {
    await openAndCoolDown();
    await fail();
    assert.equal(breaker.state, 'open');
    assert.ok(breaker.retryAt !== undefined && breaker.retryAt > Date.now());
  });

  it('re-opens on a failure after the first successful trial (probation), with a single failure', async () => {
    await openAndCoolDown();
    await succeed();
    await fail();
    assert.equal(breaker.state, 'open');
    assert.ok(breaker.retryAt !== undefined);
    assert.deepEqual(states, ['open', 'half-open', 'open']);
    // And the next round again needs two successes.
    await cooledDown();
    await succeed();
    assert.equal(breaker.state, 'half-open');
    await succeed();
    assert.equal(breaker.state, 'closed');
  });

  it('re-opens when a half-open trial takes longer than halfOpenTimeout, aborting it', async () => {
    await openAndCoolDown();
    let trialSignal: CancelSignal | undefined;
    const started = Date.now();
    await assert.rejects(
      breaker.execute(
        (signal) =>
          new Promise<never>((_resolve, reject) => {
            trialSignal = signal;
            // A hung node: it would answer far later than the half-open timeout.
            const t = setTimeout(() => reject(new Error('too late')), 5_000);
            signal.addEventListener('abort', () => {
              clearTimeout(t);
              reject(new NodeError('aborted', 'aborted'));
            });
          }),
      ),
      (err: unknown) => err instanceof NodeError && err.kind === 'stall' && /half-open trial/.test(err.message),
    );
    const elapsed = Date.now() - started;
    // No upper bound needed: had the breaker not cut the trial, it would have ended with 'too late', not a stall.
    assert.ok(elapsed >= OPTIONS.halfOpenTimeoutMs - 5, `gave up after ${elapsed} ms, before the half-open timeout`);
    assert.equal(trialSignal?.aborted, true, 'the slow trial is cancelled');
    assert.equal(breaker.state, 'open');
  });

  it('does not apply the trial timeout to requests while closed', async () => {
    const value = await breaker.execute(async () => {
      await sleep(OPTIONS.halfOpenTimeoutMs + 100);
      return 'slow but fine';
    });
    assert.equal(value, 'slow but fine');
    assert.equal(breaker.state, 'closed');
  });

  it('treats an aborted trial as no verdict: it still takes 2 real successes to close', async () => {
    await openAndCoolDown();
    await fail('aborted');
    assert.equal(breaker.state, 'half-open');
    await succeed();
    assert.equal(breaker.state, 'half-open');
    await succeed();
    assert.equal(breaker.state, 'closed');
  });

  it('reset closes an open circuit and forgets the failure count', async () => {
    await failTimes(5);
    breaker.reset();
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.retryAt, undefined);
    assert.equal(breaker.canAttempt(), true);
    assert.deepEqual(states, ['open', 'closed']);
    await failTimes(4);
    assert.equal(breaker.state, 'closed', 'failures before the reset are forgotten');
    await succeed();
  });

  it('reset also ends probation', async () => {
    await openAndCoolDown();
    await succeed();
    breaker.reset();
    assert.equal(breaker.state, 'closed');
    await fail();
    assert.equal(breaker.state, 'closed', 'a single failure after reset does not open');
  });

  it('dispose aborts requests in flight and refuses new ones', async () => {
    let seen: CancelSignal | undefined;
    const running = breaker.execute(
      (signal) =>
        new Promise<void>((_resolve, reject) => {
          seen = signal;
          signal.addEventListener('abort', () => reject(signal.reason));
        }),
    );
    await called(() => seen !== undefined);
    breaker.dispose();
    await assert.rejects(running, (err: unknown) => err instanceof NodeError && err.kind === 'aborted');
    assert.equal(seen?.aborted, true);
    assert.equal(breaker.canAttempt(), false);
    await assert.rejects(breaker.execute(async () => 'x'), (err: unknown) => err instanceof NodeError && err.kind === 'aborted');
  });

  it('reads its options from the config section (seconds) as milliseconds', () => {
    assert.deepEqual(breakerOptionsFromConfig({ failure_threshold: 5, timeout: 60, success_threshold: 2, half_open_timeout: 30 }), {
      failureThreshold: 5,
      halfOpenAfterMs: 60_000,
      successThreshold: 2,
      halfOpenTimeoutMs: 30_000,
    });
  });
});
