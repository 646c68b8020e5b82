import type { ServerResponse } from 'node:http';
import { Canceller } from '../util/canceller';

/**
 * A cancellation that fires when the client goes away before its answer is written, so the node
 * stops working for nobody. `release()` once the request has ended.
 */
export function cancelWhenClientGone(res: ServerResponse): { controller: Canceller; release(): void } {
  const controller = new Canceller();
  const onClose = () => {
    if (!res.writableFinished) controller.abort();
  };
  res.once('close', onClose);
  return { controller, release: () => res.off('close', onClose) };
}
