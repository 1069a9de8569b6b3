import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** AES-256-GCM: a 96-bit random nonce per message and a 128-bit tag, laid out as nonce | ciphertext | tag. */
const ALGORITHM = 'aes-256-gcm';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
export const KEY_BYTES = 32;
export const KEY_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** Data that cannot be decrypted here: its key is not in this process's key ring, or the key there is not the one used. */
export class EncryptionKeyUnavailable extends Error {
  override readonly name = 'EncryptionKeyUnavailable';
  constructor(
    readonly keyId: string,
    reason: 'unknown' | 'mismatch',
  ) {
    super(
      reason === 'unknown'
        ? `encryption key ${keyId} is not in this process's key ring (ENCRYPTION_KEYS)`
        : `data under encryption key ${keyId} does not authenticate with this process's key ${keyId}: a different key under the same id, or tampered data`,
    );
  }
}

export interface KeyRingSettings {
  /** The key that encrypts. */
  activeKeyId: string;
  /** Every key that decrypts, by id (the active one among them). */
  keys: ReadonlyMap<string, Buffer>;
}

/** Several keys decrypt, one encrypts: data names the id of its key, so a key ring can hold old keys during a rotation. */
export class KeyRing {
  constructor(private readonly settings: KeyRingSettings) {}

  get activeKeyId(): string {
    return this.settings.activeKeyId;
  }

  get keyIds(): string[] {
    return [...this.settings.keys.keys()];
  }

  /** `aad` is authenticated, not encrypted: what the ciphertext is bound to (its format, its key id). */
  encrypt(plaintext: Uint8Array, aad: Uint8Array): { keyId: string; data: Buffer } {
    const keyId = this.settings.activeKeyId;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.key(keyId), nonce);
    cipher.setAAD(aad);
    const body = cipher.update(plaintext);
    cipher.final();
    return { keyId, data: Buffer.concat([nonce, body, cipher.getAuthTag()]) };
  }

  decrypt(keyId: string, data: Uint8Array, aad: Uint8Array): Buffer {
    const key = this.key(keyId);
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (bytes.length < NONCE_BYTES + TAG_BYTES) throw new EncryptionKeyUnavailable(keyId, 'mismatch');
    const decipher = createDecipheriv(ALGORITHM, key, bytes.subarray(0, NONCE_BYTES));
    decipher.setAAD(aad);
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    const body = decipher.update(bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES));
    try {
      decipher.final();
    } catch {
      // GCM refuses the tag: never hand back what the wrong key made of the bytes.
      throw new EncryptionKeyUnavailable(keyId, 'mismatch');
    }
    return body;
  }

  private key(keyId: string): Buffer {
    const key = this.settings.keys.get(keyId);
    if (!key) throw new EncryptionKeyUnavailable(keyId, 'unknown');
    return key;
  }
}

/** A fresh key ring entry, `<id>:<base64 key>`, as `npm start` writes on first start and operators add for a rotation. */
export function newKeyEntry(keyId: string): string {
  return `${keyId}:${randomBytes(KEY_BYTES).toString('base64')}`;
}

/**
 * `id1:base64key,id2:base64key` (commas or newlines); the active key is `active`, or the only one. Throws a message
 * that names the offending entry by id or position, never its key material.
 */
export function parseKeyRing(raw: string, active: string | undefined): KeyRingSettings {
  const keys = new Map<string, Buffer>();
  const entries = raw
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean);
  entries.forEach((entry, i) => {
    const colon = entry.indexOf(':');
    const id = colon < 0 ? '' : entry.slice(0, colon);
    if (!KEY_ID_PATTERN.test(id))
      throw new Error(`entry ${i + 1} is not <id>:<base64 key> (id: letters, digits, _ . -)`);
    const key = Buffer.from(entry.slice(colon + 1), 'base64');
    if (key.length !== KEY_BYTES) throw new Error(`key ${id} is not ${KEY_BYTES} bytes of base64 (AES-256)`);
    if (keys.has(id)) throw new Error(`key ${id} is listed twice`);
    keys.set(id, key);
  });
  if (keys.size === 0) throw new Error('no keys');
  const activeKeyId = active ?? (keys.size === 1 ? [...keys.keys()][0]! : undefined);
  if (activeKeyId === undefined) throw new Error('several keys: ENCRYPTION_ACTIVE_KEY must name the one that encrypts');
  if (!keys.has(activeKeyId)) throw new Error(`the active key ${activeKeyId} is not in the key ring`);
  return { activeKeyId, keys };
}
