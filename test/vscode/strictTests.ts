/**
 * Strict runs (CI): `.ci/run` sets HAROMBE_TEST_STRICT=1, and CI=true counts too. There a test that
 * cannot run is a failure, never a skip: a green run must mean that every test ran. Outside CI a
 * developer without root or without ../shared still gets a skip, with the reason printed.
 */
// Typed out: a call narrows (`never`) only through an explicitly typed object.
export const strictTests: { readonly on: boolean; skip(ctx: Mocha.Context, reason: string): never } = {
  get on(): boolean {
    return process.env.HAROMBE_TEST_STRICT === '1' || process.env.CI === 'true';
  },

  /** Skips the test (or the hooks' suite) with `reason`, or, in a strict run, fails it with that reason. */
  skip(ctx: Mocha.Context, reason: string): never {
    if (strictTests.on) throw new Error(`cannot run: ${reason} (a strict run, HAROMBE_TEST_STRICT=1 or CI=true, does not skip)`);
    console.log(`      (skipped: ${reason})`);
    ctx.skip();
  },
};
