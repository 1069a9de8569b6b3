import type { Payload } from '@temporalio/common';
import type { CodecRequest } from '../contracts/codec';
import { type ClaimCheckCodec, isReference } from '../infra/temporal/claim-check';
import { type EncryptionCodec, isEncrypted } from '../infra/temporal/encryption-codec';

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
 * out of histories: their own tenant's payloads only, every tenant's for the operator tenant. Encrypted payloads are
 * decrypted where the caller may read them: behind a reference of their tenant, or anywhere for the operator tenant.
 * An inline encrypted payload names no tenant, so other callers get it back as it came, still encrypted.
 */
export class PayloadCodec {
  constructor(
    private readonly codec: ClaimCheckCodec,
    private readonly encryption: EncryptionCodec | undefined,
    private readonly operatorTenant: string,
  ) {}

  async decode(request: CodecRequest, tenantId: string): Promise<CodecRequest> {
    const operator = tenantId === this.operatorTenant;
    const payloads = request.payloads.map(toPayload);
    const resolved = await this.codec.decodeFor(payloads, operator ? undefined : tenantId);
    const { encryption } = this;
    if (!encryption) return { payloads: resolved.map(toJson) };
    const decoded = await Promise.all(
      resolved.map(async (payload, i) =>
        isEncrypted(payload) && (operator || isReference(payloads[i]!))
          ? (await encryption.decode([payload]))[0]!
          : payload,
      ),
    );
    return { payloads: decoded.map(toJson) };
  }
}
