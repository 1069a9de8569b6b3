import type { Payload } from '@temporalio/common';
import type { CodecRequest } from '../contracts/codec';
import type { ClaimCheckCodec } from '../infra/temporal/claim-check';

const toPayload = (p: CodecRequest['payloads'][number]): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data, 'base64'),
});

const toJson = (p: Payload) => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

/**
 * The Temporal UI's remote codec: payloads in proto JSON, decoded, so admins read the code the claim check keeps
 * out of histories: their own tenant's payloads only, every tenant's for the operator tenant.
 */
export class PayloadCodec {
  constructor(
    private readonly codec: ClaimCheckCodec,
    private readonly operatorTenant: string,
  ) {}

  async decode(request: CodecRequest, tenantId: string): Promise<CodecRequest> {
    const decoded = await this.codec.decodeFor(
      request.payloads.map(toPayload),
      tenantId === this.operatorTenant ? undefined : tenantId,
    );
    return { payloads: decoded.map(toJson) };
  }
}
