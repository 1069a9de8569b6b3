import { Router } from 'express';
import type { Payload } from '@temporalio/common';
import { CodecRequest } from '../../contracts/codec';
import type { ClaimCheckCodec } from '../../infra/temporal/claim-check';
import { principalOf } from '../principal';
import { BadRequestError, zodDetails } from '../errors';

const toPayload = (p: CodecRequest['payloads'][number]): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data, 'base64'),
});

const toJson = (p: Payload) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

/**
 * The Temporal UI's remote codec endpoint (`--ui-codec-endpoint <API>/api/v1/codec`): the UI posts the payloads it
 * shows and gets them decoded, so admins read the code the claim check keeps out of histories: their own tenant's
 * payloads only, every tenant's for the operator tenant's admins.
 */
export function codecRouter(deps: { codec: ClaimCheckCodec; operatorTenant: string }): Router {
  const router = Router();
  router.post('/api/v1/codec/decode', async (req, res) => {
    const parsed = CodecRequest.safeParse(req.body);
    if (!parsed.success) throw new BadRequestError('request body is not {"payloads": [...]} in proto JSON', zodDetails(parsed.error));
    const { tenantId } = principalOf(res);
    const decoded = await deps.codec.decodeFor(parsed.data.payloads.map(toPayload), tenantId === deps.operatorTenant ? undefined : tenantId);
    res.json({ payloads: decoded.map(toJson) });
  });
  return router;
}
