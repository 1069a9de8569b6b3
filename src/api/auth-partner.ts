import { createRemoteJWKSet, importSPKI, jwtVerify, type JWTVerifyGetKey, type KeyLike } from 'jose';
import type { Config } from '../config';
import { PARTNER_SERVICE } from '../contracts/security';

export type PartnerCheck = { ok: true; subject: string } | { ok: false; reason: string };

export interface PartnerVerifier {
  verify(token: string): Promise<PartnerCheck>;
}

/**
 * Verifies the partner's tokens: RS256 only (so neither `alg: none` nor an HS256 token signed with the public key
 * as the secret passes), signature against the configured PEM or JWKS, exp/nbf with no leeway, iss, aud, and the
 * `service` claim. Undefined when no key is configured: the partner endpoint then refuses every call.
 * An unusable PEM fails here, at start, not on the first call.
 */
export async function createPartnerVerifier(config: Config): Promise<PartnerVerifier | undefined> {
  let key: KeyLike | JWTVerifyGetKey;
  if (config.PARTNER_JWKS_URL) {
    key = createRemoteJWKSet(new URL(config.PARTNER_JWKS_URL), { timeoutDuration: 3_000, cooldownDuration: 30_000 });
  } else if (config.PARTNER_JWT_PUBLIC_KEY) {
    // Environment files often carry PEMs with literal \n.
    key = await importSPKI(config.PARTNER_JWT_PUBLIC_KEY.replace(/\\n/g, '\n'), 'RS256');
  } else {
    return undefined;
  }
  const options = { algorithms: ['RS256'], issuer: config.PARTNER_JWT_ISSUER, audience: config.PARTNER_JWT_AUDIENCE, requiredClaims: ['exp'] };
  return {
    async verify(token) {
      try {
        const { payload } = typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options);
        if (payload.service !== PARTNER_SERVICE) return { ok: false, reason: 'wrong_service' };
        return { ok: true, subject: typeof payload.sub === 'string' && payload.sub ? payload.sub.slice(0, 100) : 'partner' };
      } catch (err) {
        return { ok: false, reason: (err as { code?: string }).code ?? 'invalid_token' };
      }
    },
  };
}
