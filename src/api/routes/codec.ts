import { Router } from 'express';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { CodecRequest } from '../../contracts/codec';
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
 * shows and gets them decoded, so operators read the code the claim check keeps out of histories. It reads any
 * tenant's payloads in the namespace, hence the admin role.
 */
export function codecRouter(codec: PayloadCodec): Router {
  const router = Router();
  router.post('/api/v1/codec/decode', async (req, res) => {
    const parsed = CodecRequest.safeParse(req.body);
    if (!parsed.success) throw new BadRequestError('request body is not {"payloads": [...]} in proto JSON', zodDetails(parsed.error));
    const decoded = await codec.decode(parsed.data.payloads.map(toPayload));
    res.json({ payloads: decoded.map(toJson) });
  });
  return router;
}
