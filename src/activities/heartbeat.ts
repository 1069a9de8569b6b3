import { Context } from '@temporalio/activity';

/**
 * Well inside the workflows' 10 s heartbeatTimeout, which the server counts from the activity's start: an activity
 * done within the interval (most calls) sends no heartbeat at all, one RPC and one server write fewer each.
 */
const HEARTBEAT_INTERVAL_MS = 2_000;

/**
 * Runs `work` while heartbeating, so the server learns of a cancellation (or of this worker's death) within seconds.
 * On cancellation it rejects at once with the activity's CancelledFailure and aborts `work` through the signal.
 */
export async function heartbeating<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const timer = setInterval(() => ctx.heartbeat(), HEARTBEAT_INTERVAL_MS);
  try {
    return await Promise.race([work(ctx.cancellationSignal), ctx.cancelled]);
  } finally {
    clearInterval(timer);
  }
}
