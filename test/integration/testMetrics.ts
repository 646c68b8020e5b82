/**
 * Figures measured inside the extension host (activation time, …) for the runner to print and keep in
 * the results file. Every test file is bundled on its own, so a module-level map would exist once per
 * bundle; the store lives on globalThis to be shared by all of them.
 */
export interface TestMetric {
  name: string;
  value: number;
  unit: string;
}

const storeKey = Symbol.for('harombe.testMetrics');

export const testMetrics = {
  record(name: string, value: number, unit = 'ms'): void {
    testMetrics.all().push({ name, value, unit });
  },
  all(): TestMetric[] {
    const store = globalThis as { [storeKey]?: TestMetric[] };
    return (store[storeKey] ??= []);
  },
};
