import { createHash } from 'node:crypto';
import type { Resolution } from '../contracts/outcomes';
import type { ResolutionRepo } from '../infra/db/resolution-repo';
import { functionNotFound } from './functions';
import { NotFoundError } from './errors';

/** Buckets a unit can fall in: a share is placed to a hundredth of a percent. */
export const UNIT_BUCKETS = 10_000;

/**
 * A unit's stable place in 0..9999: the same tenant, function and unit always land in the same bucket, and units
 * spread evenly. The function is part of the hash so one unit is not first in line for every function's rollout.
 */
export function unitBucket(tenantId: string, functionName: string, unit: string): number {
  const digest = createHash('sha256').update(`${tenantId}\n${functionName}\n${unit}`).digest();
  return digest.readUInt32BE(0) % UNIT_BUCKETS;
}

/**
 * Which version a bucket runs. During a rollout the candidate takes the buckets below its share, so raising the
 * share only adds units to the candidate: a unit that ran it at 5 % still runs it at 25 %.
 */
export function versionForBucket(
  bucket: number,
  active: number,
  rollout?: { candidate: number; sharePercent: number },
): number {
  return rollout && bucket < rollout.sharePercent * (UNIT_BUCKETS / 100) ? rollout.candidate : active;
}

/** Answers which version a unit should run, and where its code is. */
export class Resolver {
  constructor(private readonly repo: ResolutionRepo) {}

  async resolve(tenantId: string, name: string, unit: string): Promise<Resolution> {
    const current = await this.repo.current(tenantId, name);
    if (current === undefined) throw functionNotFound(name);
    const { active, rollout } = current;
    if (active === null)
      throw new NotFoundError('no_active_version', `function ${name} has no active version to resolve to`);
    const bucket = unitBucket(tenantId, name, unit);
    const version = versionForBucket(bucket, active, rollout);
    const base = `/api/v1/functions/${encodeURIComponent(name)}/versions/${version}`;
    return {
      function_name: name,
      unit,
      version,
      bucket,
      reason: version === active ? 'active' : 'rollout',
      urls: { version: base, python: `${base}/code/python`, dana: `${base}/code/dana` },
    };
  }
}
