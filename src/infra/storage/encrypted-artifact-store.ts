import type { Config } from '../../config';
import { FieldCipher } from '../crypto/field-cipher';
import type { Logger } from '../observability/logger';
import {
  type ArtifactFile,
  type ArtifactStore,
  createPlainArtifactStore,
  type StorageKind,
  type StoredFile,
  type VersionFiles,
  type VersionRef,
  type WrittenVersion,
} from './artifact-store';

/**
 * With `encrypt` (ARTIFACT_ENCRYPTION), every file of a version is written in the field envelope
 * (`enc:v1:<key id>:<base64>`) under the key ring's active key. Reads decrypt whatever is encrypted, with `encrypt` or
 * without, so turning it off leaves encrypted versions readable; plaintext files read as they are. Download URLs
 * would hand out ciphertext, so with `encrypt` there are none: clients get the code in the API's answer.
 */
export class EncryptedArtifactStore implements ArtifactStore {
  constructor(
    private readonly inner: ArtifactStore,
    private readonly cipher: FieldCipher,
    private readonly encrypt: boolean,
  ) {}

  async writeVersion(ref: VersionRef, files: VersionFiles, storage?: StorageKind): Promise<WrittenVersion> {
    if (!this.encrypt) return this.inner.writeVersion(ref, files, storage);
    const sealed = Object.fromEntries(
      Object.entries(files).map(([name, content]) => [name, this.cipher.sealText(content as string)]),
    ) as unknown as VersionFiles;
    const written = await this.inner.writeVersion(ref, sealed, storage);
    const keyId = this.cipher.activeKeyId;
    return keyId === undefined ? written : { ...written, keyId };
  }

  setCurrent(ref: VersionRef): Promise<void> {
    return this.inner.setCurrent(ref);
  }

  async readFile(ref: VersionRef, file: StoredFile, storage: StorageKind): Promise<string> {
    return this.cipher.openText(await this.inner.readFile(ref, file, storage));
  }

  async downloadUrl(ref: VersionRef, file: ArtifactFile, storage: StorageKind): Promise<string | null> {
    return this.encrypt ? null : this.inner.downloadUrl(ref, file, storage);
  }

  async readVersion(ref: VersionRef, storage: StorageKind): Promise<VersionFiles> {
    const files = await this.inner.readVersion(ref, storage);
    return Object.fromEntries(
      Object.entries(files).map(([name, content]) => [name, this.cipher.openText(content as string)]),
    ) as unknown as VersionFiles;
  }

  deleteFunction(tenantId: string, functionName: string): Promise<number> {
    return this.inner.deleteFunction(tenantId, functionName);
  }

  deleteTenant(tenantId: string): Promise<number> {
    return this.inner.deleteTenant(tenantId);
  }
}

/**
 * The store a process uses, from config; `raw`: the same without the encryption layer (for key rotation, which
 * re-encrypts files itself). With a key ring, encrypted files read back decrypted whether or not ARTIFACT_ENCRYPTION
 * is on, so turning it off leaves what it wrote readable.
 */
export function createArtifactStore(
  config: Config,
  logger: Logger,
): { store: ArtifactStore; raw: ArtifactStore; close(): void } {
  const { store: raw, close } = createPlainArtifactStore(config, logger);
  if (!config.encryption) return { store: raw, raw, close };
  const cipher = new FieldCipher(config.encryption);
  return { store: new EncryptedArtifactStore(raw, cipher, config.ARTIFACT_ENCRYPTION), raw, close };
}
