import type Redis from 'ioredis';
import { createRemoteJWKSet, importSPKI, jwtVerify, type JWTVerifyGetKey, type KeyLike } from 'jose';
import { LRUCache } from 'lru-cache';
import type { Config } from '../../config';
import { PARTNER_SERVICE, type PartnerVerifier } from '../../contracts/security';
import { sha256 } from '../hash';

const SEEN_IN_MEMORY = 100_000;

/**
 * Token ids (`jti`) already accepted, each remembered until its token expires: in Redis when configured, so every
 * replica refuses a replay; in this process while Redis is absent or failing.
 */
class SeenTokens {
  private readonly memory = new LRUCache<string, true>({ max: SEEN_IN_MEMORY, ttlAutopurge: false });

  constructor(
    private readonly redis: Redis | undefined,
    private readonly prefix: string,
  ) {}

  /** True the first time `jti` is offered within `ttlSeconds`. */
  async first(jti: string, ttlSeconds: number): Promise<boolean> {
    const key = `${this.prefix}jti:${sha256(jti)}`;
    if (this.redis) {
      try {
        return (await this.redis.set(key, '1', 'EX', ttlSeconds, 'NX')) === 'OK';
      } catch {
        // Redis away: this replica still refuses what it has seen.
      }
    }
    if (this.memory.has(key)) return false;
    this.memory.set(key, true, { ttl: ttlSeconds * 1000 });
    return true;
  }
}

/**
 * Verifies the partner's tokens: RS256 only (so neither `alg: none` nor an HS256 token signed with the public key
 * as the secret passes), signature against the configured PEM or JWKS, exp/nbf with no leeway, iss, aud, and the
 * `service` claim; `iat` is required, and a token issued more than PARTNER_JWT_MAX_AGE ago or living longer than
 * that is refused; a `jti` is accepted once. Undefined when no key is configured: the partner endpoint then refuses every call.
 * An unusable PEM fails here, at start, not on the first call.
 */
export async function createPartnerVerifier(config: Config, redis?: Redis): Promise<PartnerVerifier | undefined> {
  let key: KeyLike | JWTVerifyGetKey;
  if (config.PARTNER_JWKS_URL) {
    key = createRemoteJWKSet(new URL(config.PARTNER_JWKS_URL), { timeoutDuration: 3_000, cooldownDuration: 30_000 });
  } else if (config.PARTNER_JWT_PUBLIC_KEY) {
    // Environment files often carry PEMs with literal \n.
    key = await importSPKI(config.PARTNER_JWT_PUBLIC_KEY.replace(/\\n/g, '\n'), 'RS256');
  } else {
    return undefined;
  }
  const maxAge = config.PARTNER_JWT_MAX_AGE;
  const options = {
    algorithms: ['RS256'],
    issuer: config.PARTNER_JWT_ISSUER,
    audience: config.PARTNER_JWT_AUDIENCE,
    requiredClaims: ['exp', 'iat'],
    maxTokenAge: maxAge,
  };
  const seen = new SeenTokens(redis, config.REDIS_PREFIX);
  return {
    async verify(token) {
      try {
        const { payload } =
          typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options);
        if (payload.service !== PARTNER_SERVICE) return { ok: false, reason: 'wrong_service' };
        // jose checked that exp and iat are numbers and that iat is no older than maxAge.
        const { exp, iat } = payload as { exp: number; iat: number };
        if (exp - iat > maxAge) return { ok: false, reason: 'lifetime_too_long' };
        if (payload.jti !== undefined) {
          const ttl = Math.max(1, exp - Math.floor(Date.now() / 1000));
          if (typeof payload.jti !== 'string' || !(await seen.first(`${payload.iss}\u0000${payload.jti}`, ttl)))
            return { ok: false, reason: 'replayed' };
        }
        return {
          ok: true,
          subject: typeof payload.sub === 'string' && payload.sub ? payload.sub.slice(0, 100) : 'partner',
        };
      } catch (err) {
        return { ok: false, reason: (err as { code?: string }).code ?? 'invalid_token' };
      }
    },
  };
}
