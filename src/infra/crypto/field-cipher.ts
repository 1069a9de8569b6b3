import { EncryptionKeyUnavailable, KeyRing, type KeyRingSettings } from './key-ring';

/**
 * The envelope of an encrypted field (a text column, a JSON string in a jsonb column, an artifact file):
 * `enc:v1:<key id>:<base64 of nonce | AES-256-GCM ciphertext | tag>`. The `enc:v1:<key id>` prefix is the
 * authenticated data, so a value relabelled with another key id or format version does not decrypt.
 */
export const FIELD_PREFIX = 'enc:v1:';
const ENVELOPE = /^enc:v1:([A-Za-z0-9_.-]{1,64}):([A-Za-z0-9+/=]*)$/;

const aad = (keyId: string) => Buffer.from(`${FIELD_PREFIX}${keyId}`);

/** The key id of an encrypted field; undefined for plaintext (written before encryption was on, or with it off). */
export function fieldKeyId(value: unknown): string | undefined {
  return typeof value === 'string' && value.startsWith(FIELD_PREFIX) ? ENVELOPE.exec(value)?.[1] : undefined;
}

/**
 * Field-level encryption of what the repositories store (code, params, feedback texts) under the payload codec's key
 * ring. Without a ring it writes plaintext, as before; either way it reads both, so rows from before encryption and
 * rows under an old key read the same. A field under a key this process lacks fails with EncryptionKeyUnavailable.
 */
export class FieldCipher {
  private readonly ring: KeyRing | undefined;

  constructor(ring: KeyRing | KeyRingSettings | undefined) {
    this.ring = ring === undefined || ring instanceof KeyRing ? ring : new KeyRing(ring);
  }

  /** The key new fields are written under; undefined when fields are written in plaintext. */
  get activeKeyId(): string | undefined {
    return this.ring?.activeKeyId;
  }

  sealText(plain: string): string;
  sealText(plain: string | null): string | null;
  sealText(plain: string | null): string | null {
    if (plain === null) return null;
    if (!this.ring) return plain;
    const { keyId, data } = this.ring.encrypt(Buffer.from(plain, 'utf8'), aad(this.ring.activeKeyId));
    return `${FIELD_PREFIX}${keyId}:${data.toString('base64')}`;
  }

  openText(stored: string): string;
  openText(stored: string | null): string | null;
  openText(stored: string | null): string | null {
    if (stored === null || !stored.startsWith(FIELD_PREFIX)) return stored;
    const match = ENVELOPE.exec(stored);
    if (!match) throw new EncryptionKeyUnavailable('?', 'mismatch');
    const keyId = match[1]!;
    if (!this.ring) throw new EncryptionKeyUnavailable(keyId, 'unknown');
    return this.ring.decrypt(keyId, Buffer.from(match[2]!, 'base64'), aad(keyId)).toString('utf8');
  }

  /** A JSON value as a jsonb parameter: the value itself in plaintext, or its encrypted JSON text as a JSON string. */
  sealJson(value: unknown): string {
    const json = JSON.stringify(value);
    return this.ring ? JSON.stringify(this.sealText(json)) : json;
  }

  /** What a jsonb column read back holds: an encrypted field is a string in the envelope, anything else is plaintext. */
  openJson<T>(stored: T | string): T {
    return fieldKeyId(stored) === undefined ? (stored as T) : (JSON.parse(this.openText(stored as string)) as T);
  }

  /** An object with the named members encrypted (as envelope strings), so its other members stay queryable. */
  sealMembers<T extends object>(value: T, members: readonly string[]): T {
    if (!this.ring) return value;
    const out = { ...value } as Record<string, unknown>;
    for (const m of members) if (out[m] !== undefined) out[m] = this.sealText(JSON.stringify(out[m]));
    return out as T;
  }

  openMembers<T extends object>(value: T, members: readonly string[]): T {
    const out = { ...value } as Record<string, unknown>;
    for (const m of members) if (out[m] !== undefined) out[m] = this.openJson(out[m]);
    return out as T;
  }
}
