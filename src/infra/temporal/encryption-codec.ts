import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import type { Config } from '../../config';
import { temporal } from '@temporalio/proto';
import { UNREADABLE_PAYLOAD_KEY } from '../../definitions/unreadable-payloads';
import { EncryptionKeyUnavailable, KeyRing } from '../crypto/key-ring';
import type { Check } from '../observability/health';

/** Marks an encrypted payload: its data is nonce | AES-256-GCM(the whole original payload, proto) | tag. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Metadata key naming the id of the key that encrypted the payload. */
export const KEY_ID_METADATA = 'encryption-key-id';

/** A decryption failure this recent keeps readiness failing: data exists that this process cannot read. */
const FAILURE_WINDOW_MS = 5 * 60 * 1000;

/** Ciphertext bound to its format and key id: relabelling a payload with another key id fails authentication. */
const aad = (keyId: string) => Buffer.from(`${ENCRYPTED_ENCODING}/${keyId}`);

export function isEncrypted(payload: Payload): boolean {
  const encoding = payload.metadata?.encoding;
  return encoding !== undefined && encoding !== null && Buffer.from(encoding).toString() === ENCRYPTED_ENCODING;
}

/**
 * Encrypts every payload before it leaves the process, so neither the Temporal server nor the payload store (the
 * claim check runs after this codec) holds customers' code in plaintext. Payloads written before encryption was on
 * (recorded histories, old runs) decode unchanged; one whose key is missing or wrong fails with
 * EncryptionKeyUnavailable, never as garbled data.
 */
export class EncryptionCodec implements PayloadCodec {
  private lastFailure: { at: number; message: string } | undefined;

  /**
   * `mark`: the worker's choice. A payload it cannot decrypt decodes to the marker the workflow and activity
   * interceptors fail the run with (src/definitions/unreadable-payloads.ts); thrown, it would fail the workflow
   * task over and over. Other processes throw EncryptionKeyUnavailable to their caller.
   */
  constructor(
    readonly keyRing: KeyRing,
    private readonly unreadable: 'throw' | 'mark' = 'throw',
  ) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const plaintext = temporal.api.common.v1.Payload.encode(payload).finish();
      const { keyId, data } = this.keyRing.encrypt(plaintext, aad(this.keyRing.activeKeyId));
      return {
        metadata: { encoding: Buffer.from(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: Buffer.from(keyId) },
        data,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => (isEncrypted(payload) ? this.decrypt(payload) : payload));
  }

  /** The id of the key a payload is encrypted with; undefined when it is not encrypted. */
  static keyIdOf(payload: Payload): string | undefined {
    const id = payload.metadata?.[KEY_ID_METADATA];
    return isEncrypted(payload) && id ? Buffer.from(id).toString() : undefined;
  }

  private decrypt(payload: Payload): Payload {
    const keyId = EncryptionCodec.keyIdOf(payload) ?? '';
    try {
      return temporal.api.common.v1.Payload.decode(
        this.keyRing.decrypt(keyId, payload.data ?? new Uint8Array(), aad(keyId)),
      );
    } catch (err) {
      if (!(err instanceof EncryptionKeyUnavailable)) throw err;
      this.lastFailure = { at: Date.now(), message: err.message };
      if (this.unreadable === 'throw') throw err;
      return {
        metadata: { encoding: Buffer.from('json/plain') },
        data: Buffer.from(JSON.stringify({ [UNREADABLE_PAYLOAD_KEY]: { key_id: keyId, message: err.message } })),
      };
    }
  }

  /** Readiness: the active key round-trips, and no payload failed to decrypt lately. */
  readonly check: Check = async () => {
    const started = performance.now();
    const latency_ms = () => Math.round((performance.now() - started) * 10) / 10;
    const details = { active_key: this.keyRing.activeKeyId, keys: this.keyRing.keyIds };
    try {
      const probe = Buffer.from('readiness');
      const sealed = this.keyRing.encrypt(probe, aad(this.keyRing.activeKeyId));
      this.keyRing.decrypt(sealed.keyId, sealed.data, aad(sealed.keyId));
    } catch (err) {
      return { status: 'failing', latency_ms: latency_ms(), error: (err as Error).message, details };
    }
    const failure = this.lastFailure;
    if (failure && Date.now() - failure.at < FAILURE_WINDOW_MS)
      return { status: 'failing', latency_ms: latency_ms(), error: failure.message, details };
    return { status: 'ok', latency_ms: latency_ms(), details };
  };
}

/** The readiness check of a process without encryption configured. */
export const encryptionDisabledCheck: Check = async () => ({ status: 'disabled', latency_ms: 0 });

/**
 * For a short-lived client without the payload store (`poet schedules apply`): what it writes is small and never
 * claimed, but it must be encrypted like everything else, and it must read what the worker wrote.
 */
export function encryptionOnlyDataConverter(config: Pick<Config, 'encryption'>): DataConverter {
  return {
    payloadCodecs: config.encryption ? [new EncryptionCodec(new KeyRing(config.encryption))] : [],
    failureConverterPath: FAILURE_CONVERTER_PATH,
  };
}

/** Every data converter of ours encodes failure messages and stack traces, so the codecs encrypt them. */
export const FAILURE_CONVERTER_PATH = require.resolve('../../definitions/failure-converter');
