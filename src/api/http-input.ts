import type { Request, Response } from 'express';
import { z } from 'zod';
import { InvalidInputError } from '../app/errors';
import type { Settled } from '../app/runs';
import type { Config } from '../config';
import { FunctionName, type RunRef } from '../contracts/enhance';
import { VersionNumber } from '../contracts/feedback';

/** What several feature routes parse alike: path parameters, the wait budget, and the answer of a run waited on. */

export const FunctionNameParams = z.object({ name: FunctionName });
export const VersionParam = z.coerce.number().pipe(VersionNumber);
export const RunIdParams = z.object({
  id: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,200}$/, 'letters, digits and _.:- only')
    .meta({ description: 'Workflow id' }),
});

export const WaitQuery = z.object({
  wait: z.string().optional().meta({ description: 'Seconds to wait for the result before answering 202' }),
});
export const PreferHeader = z.object({
  prefer: z.string().optional().meta({ description: '`respond-async`: answer 202 at once' }),
});

/**
 * How long to wait for the run: `?wait=` seconds (bounded by the configured maximum) or the default budget;
 * 0 with `Prefer: respond-async`. A malformed `wait` is a 400 either way.
 */
export function waitMsOf(wait: string | undefined, req: Request, config: Config): number {
  let ms = config.ENHANCE_WAIT_SECONDS * 1000;
  if (wait !== undefined) {
    const seconds = Number(wait);
    if (wait.trim() === '' || !Number.isFinite(seconds) || seconds < 0 || seconds > config.ENHANCE_MAX_WAIT_SECONDS) {
      throw new InvalidInputError(`wait must be a number of seconds from 0 to ${config.ENHANCE_MAX_WAIT_SECONDS}`, [
        { path: 'query.wait', message: 'out of range' },
      ]);
    }
    ms = seconds * 1000;
  }
  return /\brespond-async\b/i.test(req.get('prefer') ?? '') ? 0 : ms;
}

/** 202 with where to poll the run: `runsPath` is the polling route of the endpoint's own authentication. */
export function respondRunning(res: Response, run: RunRef, runsPath: string): void {
  const location = `${runsPath}/${encodeURIComponent(run.workflow_id)}`;
  res
    .status(202)
    .location(location)
    .json({ status: 'running', run, links: { self: location } });
}

/** A run waited on: its result (200), or 202 and where to poll it. */
export function answerSettled<T>(res: Response, settled: Settled<T>, runsPath = '/api/v1/runs'): T | undefined {
  if (settled.status === 'completed') return settled.result;
  respondRunning(res, settled.run, runsPath);
  return undefined;
}
