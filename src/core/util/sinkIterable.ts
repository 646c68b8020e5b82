import { Canceller, type CancelSignal } from './canceller';
import { AsyncQueue } from './asyncQueue';

/** Made once: an abort reason per request would build a DOMException and its stack every time. */
const CONSUMER_GONE = new Error('the caller stopped reading the answer');

/**
 * Turns push-shaped work (`run` calls its sink for every item and resolves at the end) into an
 * async generator. The run gets a signal that aborts when `signal` does, or when the consumer stops
 * iterating before the run has finished, so leaving a `for await` early cancels the work behind it,
 * as leaving a generator chain does.
 */
export async function* sinkIterable<T>(signal: CancelSignal | undefined, run: (sink: (item: T) => void, signal: CancelSignal) => Promise<void>): AsyncGenerator<T> {
  const controller = new Canceller();
  const onAbort = () => controller.abort(signal?.reason);
  if (signal?.aborted) controller.abort(signal.reason);
  else signal?.addEventListener('abort', onAbort, { once: true });
  const queue = new AsyncQueue<T>();
  let finished = false;
  run((item) => queue.push(item), controller).then(
    () => {
      finished = true;
      queue.end();
    },
    (err: unknown) => {
      finished = true;
      queue.fail(err);
    },
  );
  try {
    yield* queue;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (!finished) controller.abort(CONSUMER_GONE);
  }
}
