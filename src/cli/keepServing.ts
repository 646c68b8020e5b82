import type { Logger } from '../core/util/logger';

/** What a server process logs for a rejection nobody handled; tests look for it in stderr. */
export const UNHANDLED_REJECTION_LOG = 'unhandled rejection (a bug in Harombe; the server keeps running)';

/**
 * A server of Harombe (`serve`, `start`) must never exit because of a request. Node's default for
 * a rejection nobody handled is to end the process; every such path is a bug to fix at its cause,
 * and this keeps the other clients served meanwhile and says so loudly in the log.
 */
export function keepServing(logger: Logger): () => void {
  const onRejection = (reason: unknown) => {
    const detail = reason instanceof Error ? (reason.stack ?? reason.message) : String(reason);
    logger.error(`${UNHANDLED_REJECTION_LOG}: ${detail}`);
  };
  process.on('unhandledRejection', onRejection);
  return () => process.off('unhandledRejection', onRejection);
}
