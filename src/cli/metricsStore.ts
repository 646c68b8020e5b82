import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { MetricsState } from '../core/metrics/clusterMetrics';
import { harombeHome } from './harombeHome';

/**
 * Keeps the coordinator's metrics across CLI runs, so `harombe cluster metrics` shows what earlier
 * `harombe chat` runs measured (Harombe's Python CLI starts from zero each time and shows nothing).
 */
export class MetricsStore {
  readonly file: string;

  constructor(file = join(harombeHome(), 'metrics.json')) {
    this.file = file;
  }

  load(): MetricsState | undefined {
    try {
      const data = JSON.parse(readFileSync(this.file, 'utf8')) as MetricsState;
      return data.version === 1 && typeof data.nodes === 'object' ? data : undefined;
    } catch {
      return undefined;
    }
  }

  save(state: MetricsState): void {
    mkdirSync(dirname(this.file), { recursive: true });
    // Write then rename, so a concurrent reader never sees half a file.
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(state));
    renameSync(tmp, this.file);
  }
}
