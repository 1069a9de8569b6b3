import type { RequestHandler, Response } from 'express';
import type Redis from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../config';
import type { Logger } from '../http/observability';
import { HttpError } from './errors';

const WINDOW_SECONDS = 60;

/** Budgets a route may declare on top of the per-key and per-IP ones. */
export type RateClass = 'enhance' | 'report';

export class TooManyRequestsError extends HttpError {
  constructor(readonly retryAfterSeconds: number) {
    super(429, 'rate_limited', `rate limit exceeded, retry in ${retryAfterSeconds} s`);
  }
}

interface Limit {
  name: string;
  points: number;
  limiter: RateLimiterAbstract;
}

/**
 * Counters live in Redis so every API replica shares them; while Redis is away each replica counts in memory
 * (the insurance limiter), so limits hold per replica instead of vanishing.
 */
function createLimit(name: string, points: number, config: Config, redis: Redis | undefined): Limit | undefined {
  if (points <= 0) return undefined;
  const keyPrefix = `${config.REDIS_PREFIX}rl:${name}`;
  const memory = new RateLimiterMemory({ points, duration: WINDOW_SECONDS, keyPrefix });
  const limiter = redis
    ? new RateLimiterRedis({
        storeClient: redis,
        points,
        duration: WINDOW_SECONDS,
        keyPrefix,
        insuranceLimiter: memory,
        rejectIfRedisNotReady: true,
      })
    : memory;
  return { name, points, limiter };
}

/** Standard RateLimit-* fields (IETF draft, as express-rate-limit's draft-6 mode) of the tightest limit consumed. */
function setHeaders(res: Response, limit: Limit, state: RateLimiterRes): void {
  res.setHeader('RateLimit-Policy', `${limit.points};w=${WINDOW_SECONDS}`);
  res.setHeader('RateLimit-Limit', String(limit.points));
  res.setHeader('RateLimit-Remaining', String(Math.max(0, state.remainingPoints)));
  res.setHeader('RateLimit-Reset', String(Math.ceil(state.msBeforeNext / 1000)));
}

/** Whose budgets a call spends: its key's (or `tenant:<id>` without a key) and its tenant's. */
export interface Caller {
  caller: string;
  tenantId: string;
}

export class RateLimits {
  private readonly ip?: Limit;
  private readonly key?: Limit;
  private readonly classes: Partial<Record<RateClass, Limit>>;
  /** Bind across all of a tenant's keys: an admin minting keys does not multiply the tenant's budget. */
  private readonly tenantClasses: Partial<Record<RateClass, Limit>>;

  constructor(
    config: Config,
    redis: Redis | undefined,
    private readonly logger: Logger,
  ) {
    this.ip = createLimit('ip', config.RATE_LIMIT_IP_PER_MINUTE, config, redis);
    this.key = createLimit('key', config.RATE_LIMIT_KEY_PER_MINUTE, config, redis);
    this.classes = { enhance: createLimit('enhance', config.RATE_LIMIT_ENHANCE_PER_MINUTE, config, redis) };
    this.tenantClasses = {
      enhance: createLimit('tenant-enhance', config.RATE_LIMIT_TENANT_ENHANCE_PER_MINUTE, config, redis),
      // Per report, not per request: a tenant's fleet of reporting processes shares it whatever their batch sizes.
      report: createLimit('tenant-report', config.RATE_LIMIT_TENANT_REPORTS_PER_MINUTE, config, redis),
    };
  }

  /** Before authentication, so floods of bad keys are limited too. */
  perIp(): RequestHandler {
    return async (req, res, next) => {
      await this.consume(res, [[this.ip, req.ip ?? 'unknown']], 1);
      next();
    };
  }

  /** After authentication: every caller's budget, plus the route's class budgets per key and per tenant (enhance: 10 and 60 a minute by default). */
  async perCaller(res: Response, who: Caller, rate: RateClass | undefined): Promise<void> {
    await this.consume(res, [[this.key, who.caller], ...this.classBudgets(who, rate)], 1);
  }

  /** What a request costs beyond the one point it paid on arrival: a batch pays for every further item (or report). */
  async charge(res: Response, who: Caller, rate: RateClass, points: number): Promise<void> {
    if (points > 0) await this.consume(res, this.classBudgets(who, rate), points);
  }

  private classBudgets(who: Caller, rate: RateClass | undefined): Array<[Limit | undefined, string]> {
    if (!rate) return [];
    return [
      [this.classes[rate], who.caller],
      [this.tenantClasses[rate], who.tenantId],
    ];
  }

  private async consume(res: Response, budgets: Array<[Limit | undefined, string]>, points: number): Promise<void> {
    let tightest: { limit: Limit; state: RateLimiterRes } | undefined;
    for (const [limit, subject] of budgets) {
      if (!limit) continue;
      let state: RateLimiterRes;
      try {
        state = await limit.limiter.consume(subject, points);
      } catch (err) {
        if (!(err instanceof RateLimiterRes)) {
          // Both stores failed: answering is worth more than counting.
          this.logger.warn('rate limiter unavailable, request let through', {
            limit: limit.name,
            error: (err as Error).message,
          });
          continue;
        }
        setHeaders(res, limit, err);
        const retryAfter = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
        res.setHeader('Retry-After', String(retryAfter));
        throw new TooManyRequestsError(retryAfter);
      }
      if (!tightest || state.remainingPoints / limit.points < tightest.state.remainingPoints / tightest.limit.points) {
        tightest = { limit, state };
      }
    }
    if (tightest) setHeaders(res, tightest.limit, tightest.state);
  }
}
