import { z } from 'zod';
import { DomainName, EnhanceContext, EnhanceResult, FunctionName, OptimizeFor } from './enhance';

/** Roles from least to most privileged; a route names the least role it needs. */
export const ROLES = ['viewer', 'agent', 'operator', 'admin'] as const;
/**
 * Off the ladder: a key the POET runtime sends outcome reports with, from wherever enhanced code runs. It may call
 * the routes that name this role and nothing else, so a leaked one reads nothing and changes nothing; every role of
 * the ladder may report too.
 */
export const REPORTER = 'reporter';
export const Role = z.enum([...ROLES, REPORTER]);
export type Role = z.infer<typeof Role>;

export const TenantId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, _ and -; at most 63');

/** Public part of an API key: `poet_` and 12 hex digits. It names the key in lists, logs and the audit log. */
export const ApiKeyId = z.string().regex(/^poet_[0-9a-f]{12}$/, 'an API key id looks like poet_ and 12 hex digits');

export const CreateApiKeyRequest = z.strictObject({
  name: z.string().trim().min(1).max(100),
  role: Role,
});
export type CreateApiKeyRequest = z.infer<typeof CreateApiKeyRequest>;

/** An API key as lists show it: never the secret, never its hash. */
export const ApiKeyView = z.object({
  id: ApiKeyId,
  tenant_id: z.string(),
  role: Role,
  name: z.string(),
  created_by: z.string().nullable(),
  created_at: z.string(),
  revoked_at: z.string().nullable(),
});
export type ApiKeyView = z.infer<typeof ApiKeyView>;

export const AuditOutcome = z.enum(['success', 'denied', 'rejected', 'error']);
export type AuditOutcome = z.infer<typeof AuditOutcome>;

export const AuditEntry = z.object({
  id: z.string(),
  at: z.string(),
  actor: z.string().nullable(),
  tenant_id: z.string().nullable(),
  action: z.string(),
  target: z.string().nullable(),
  request_id: z.string().nullable(),
  outcome: AuditOutcome,
  status: z.number().int(),
  ip: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

const isoTime = z.iso.datetime({ offset: true });

/** Query of GET /api/v1/admin/audit; `before` is the id of the last entry of the previous page. */
export const AuditQuery = z.strictObject({
  actor: z.string().max(100).optional(),
  action: z.string().max(200).optional(),
  outcome: AuditOutcome.optional(),
  target: z.string().max(200).optional(),
  since: isoTime.optional(),
  until: isoTime.optional(),
  before: z
    .string()
    .regex(/^[1-9][0-9]{0,18}$/)
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type AuditQuery = z.infer<typeof AuditQuery>;

/** The audit log's hash chain checked end to end (GET /api/v1/admin/audit/verify). */
export const AuditChain = z.object({
  rows: z.number().int(),
  intact: z.boolean(),
  /** The first 100 places where it is broken: a row whose fields no longer match its hash, or a missing link. */
  breaks: z.array(z.object({ chain_seq: z.string(), reason: z.string() })),
});
export type AuditChain = z.infer<typeof AuditChain>;

export type PartnerCheck = { ok: true; subject: string } | { ok: false; reason: string };

/** Checks the partner's tokens; the API authenticates the partner routes through it. */
export interface PartnerVerifier {
  verify(token: string): Promise<PartnerCheck>;
}

/** Claims the partner's RS256 token must carry beyond exp, nbf, iss and aud (checked by jose). */
export const PARTNER_SERVICE = 'aitomatic_transpilation';

/** Body of POST /v1/aitomatic/enhance: a Dana program the partner transpiled to Python, to be POET-enhanced. */
export const PartnerEnhanceRequest = z.strictObject({
  transpilation_id: z.string().min(1).max(200),
  agent_id: z.string().min(1).max(200),
  dana_source: z.string().max(256 * 1024),
  python_code: z.string().min(1),
  function_name: FunctionName,
  domain: DomainName.default('base_reliability'),
  config: z
    .strictObject({
      optimize_for: OptimizeFor.optional(),
      context: EnhanceContext.optional(),
    })
    .default({}),
});
export type PartnerEnhanceRequest = z.output<typeof PartnerEnhanceRequest>;

/** 200 of POST /v1/aitomatic/enhance: the enhanced Python and Dana with the partner's ids echoed. */
export const PartnerEnhanceResult = z.object({
  transpilation_id: z.string(),
  agent_id: z.string(),
  function_name: z.string(),
  enhanced_dana: z.string(),
  enhanced_python: z.string(),
  version: z.number().int().positive(),
  metadata: EnhanceResult.shape.metadata,
  run: EnhanceResult.shape.run,
});
export type PartnerEnhanceResult = z.infer<typeof PartnerEnhanceResult>;
