import { mkdir, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Config } from '../../config';
import type { Logger } from '../observability/logger';

/** Where a version keeps the poet_runtime its code.py imports, so the folder runs on its own. */
export const RUNTIME_FILE = 'poet_runtime.py';

export interface VersionFiles {
  'code.py': string;
  'code.dana': string;
  'params.json': string;
  'metadata.json': string;
  /** Absent on versions whose code.py embeds its runtime (written before the runtime became a package). */
  [RUNTIME_FILE]?: string;
}
export type { ArtifactFile, StorageKind } from '../../contracts/versions';
import type { ArtifactFile, StorageKind } from '../../contracts/versions';
export const ARTIFACT_FILES: ArtifactFile[] = ['code.py', 'code.dana', 'params.json', 'metadata.json'];
/** Every file a version folder may hold: its artifacts, and the runtime beside them when the code imports one. */
export type StoredFile = ArtifactFile | typeof RUNTIME_FILE;

export interface VersionRef {
  tenantId: string;
  functionName: string;
  version: number;
}

/** Where a version was written; `keyId`: the key its files are encrypted under, absent when they are plaintext. */
export interface WrittenVersion {
  location: string;
  storage: StorageKind;
  keyId?: string;
}

export interface ArtifactStore {
  /**
   * Writes every file of a version; writing the same version again replaces it whole. `storage`: where (a rewrite
   * keeps a version where it is); absent, where new versions go.
   */
  writeVersion(ref: VersionRef, files: VersionFiles, storage?: StorageKind): Promise<WrittenVersion>;
  setCurrent(ref: VersionRef): Promise<void>;
  readFile(ref: VersionRef, file: StoredFile, storage: StorageKind): Promise<string>;
  /** A time-limited URL a client can download the file from, when the storage offers one. */
  downloadUrl(ref: VersionRef, file: ArtifactFile, storage: StorageKind): Promise<string | null>;
  /** Every file of a version as written, the runtime included when the version has one (export and backup). */
  readVersion(ref: VersionRef, storage: StorageKind): Promise<VersionFiles>;
  /** Removes every version of a function and its `current` pointer; the number of files removed. */
  deleteFunction(tenantId: string, functionName: string): Promise<number>;
  /** Removes every function of a tenant, including files no version row points to any more. */
  deleteTenant(tenantId: string): Promise<number>;
}

/** The tenant an artifact name (a folder under `functions/`) belongs to: the inverse of artifactName. */
export function tenantOfArtifactName(name: string): string {
  const at = name.lastIndexOf('@');
  return at === -1 ? 'default' : name.slice(at + 1);
}

/** Reads the files of a version through `read`; the runtime is optional (versions made before it was a package). */
async function readAllFiles(read: (file: string) => Promise<string | undefined>): Promise<VersionFiles> {
  const [code, runtime] = await Promise.all([
    Promise.all(ARTIFACT_FILES.map(async (file) => [file, await read(file)] as const)),
    read(RUNTIME_FILE),
  ]);
  const files = Object.fromEntries(
    code.map(([file, content]) => {
      if (content === undefined) throw new Error(`artifact ${file} is missing`);
      return [file, content];
    }),
  ) as unknown as VersionFiles;
  return runtime === undefined ? files : { ...files, [RUNTIME_FILE]: runtime };
}

/**
 * Where a tenant's function lives in the artifact store: `<name>` for the default tenant (the single-tenant layout),
 * `<name>@<tenant>` for the others, so two tenants' functions of one name never share files. `@` is in no Python
 * identifier and tenant ids are [a-z0-9_-], so no two pairs map to one name.
 */
export function artifactName(tenantId: string, functionName: string): string {
  return tenantId === 'default' ? functionName : `${functionName}@${tenantId}`;
}

/** Layout: <root>/functions/<artifactName>/v<N>/{code.py,code.dana,params.json,metadata.json,poet_runtime.py} and a `current` link. */
export class FilesystemArtifactStore implements ArtifactStore {
  constructor(
    private readonly root: string,
    private readonly kind: StorageKind = 'filesystem',
  ) {}

  async writeVersion(ref: VersionRef, files: VersionFiles): Promise<WrittenVersion> {
    const dir = this.versionDir(ref);
    // Stage beside the target and rename, so a reader never sees half a version.
    const staging = `${dir}.staging-${process.pid}-${Date.now()}`;
    await mkdir(staging, { recursive: true });
    await Promise.all(Object.entries(files).map(([name, content]) => writeFile(path.join(staging, name), content)));
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
    return { location: dir, storage: this.kind };
  }

  async setCurrent(ref: VersionRef): Promise<void> {
    const link = path.join(this.functionDir(ref), 'current');
    await mkdir(path.dirname(link), { recursive: true });
    const staging = `${link}.staging-${process.pid}-${Date.now()}`;
    await symlink(`v${ref.version}`, staging);
    await rename(staging, link);
  }

  readFile(ref: VersionRef, file: StoredFile): Promise<string> {
    return readFile(path.join(this.versionDir(ref), file), 'utf8');
  }

  async downloadUrl(): Promise<null> {
    return null;
  }

  readVersion(ref: VersionRef): Promise<VersionFiles> {
    return readAllFiles((file) =>
      readFile(path.join(this.versionDir(ref), file), 'utf8').catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      }),
    );
  }

  deleteFunction(tenantId: string, functionName: string): Promise<number> {
    return this.remove([artifactName(tenantId, functionName)]);
  }

  async deleteTenant(tenantId: string): Promise<number> {
    const names = await readdir(path.join(this.root, 'functions')).catch(() => [] as string[]);
    return this.remove(names.filter((name) => tenantOfArtifactName(name) === tenantId));
  }

  /** Counts the files under each function folder, then removes the folders. */
  private async remove(names: string[]): Promise<number> {
    let files = 0;
    for (const name of names) {
      const dir = path.join(this.root, 'functions', name);
      const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
      files += entries.filter((e) => !e.isDirectory()).length;
      await rm(dir, { recursive: true, force: true });
    }
    return files;
  }

  private functionDir(ref: VersionRef): string {
    return path.join(this.root, 'functions', artifactName(ref.tenantId, ref.functionName));
  }

  private versionDir(ref: VersionRef): string {
    return path.join(this.functionDir(ref), `v${ref.version}`);
  }
}

export interface S3Settings {
  bucket: string;
  prefix: string;
  region: string;
  endpoint?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  forcePathStyle: boolean;
  presignSeconds: number;
  /** Bound on one request, so an unreachable endpoint falls back quickly instead of stalling the activity. */
  requestTimeoutMs: number;
  /** Set: every object is written with SSE-KMS under this KMS key; unset: the bucket's default encryption. */
  sseKmsKeyId?: string;
}

/**
 * S3-compatible bucket, same layout under `prefix`; `current` is an object holding the active version number.
 * The bucket's versioning and lifecycle rules are the operator's (docs/operations.md: Artifact storage).
 */
export class S3ArtifactStore implements ArtifactStore {
  readonly client: S3Client;

  constructor(private readonly s3: S3Settings) {
    this.client = new S3Client({
      region: s3.region,
      forcePathStyle: s3.forcePathStyle,
      // One attempt: the activity's retry policy is the only retry loop.
      maxAttempts: 1,
      requestHandler: { connectionTimeout: s3.requestTimeoutMs, requestTimeout: s3.requestTimeoutMs },
      ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
      ...(s3.accessKeyId && s3.secretAccessKey
        ? { credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } }
        : {}),
    });
  }

  /** The server-side encryption of every object written (reads need nothing: S3 decrypts SSE-KMS for the reader). */
  private get encryption() {
    const keyId = this.s3.sseKmsKeyId;
    return keyId ? { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: keyId } : {};
  }

  async writeVersion(ref: VersionRef, files: VersionFiles): Promise<WrittenVersion> {
    await Promise.all(
      Object.entries(files).map(([name, content]) =>
        this.client.send(
          new PutObjectCommand({
            Bucket: this.s3.bucket,
            Key: this.key(ref, name),
            Body: content,
            ContentType: name.endsWith('.json') ? 'application/json' : 'text/plain; charset=utf-8',
            ...this.encryption,
          }),
        ),
      ),
    );
    return { location: `s3://${this.s3.bucket}/${this.key(ref, '')}`, storage: 's3' };
  }

  async setCurrent(ref: VersionRef): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.s3.bucket,
        Key: this.functionKey(ref, 'current'),
        Body: String(ref.version),
        ContentType: 'text/plain',
        ...this.encryption,
      }),
    );
  }

  async readFile(ref: VersionRef, file: StoredFile): Promise<string> {
    const res = await this.client.send(new GetObjectCommand({ Bucket: this.s3.bucket, Key: this.key(ref, file) }));
    return (await res.Body?.transformToString('utf-8')) ?? '';
  }

  downloadUrl(ref: VersionRef, file: ArtifactFile): Promise<string> {
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.s3.bucket, Key: this.key(ref, file) }), {
      expiresIn: this.s3.presignSeconds,
    });
  }

  readVersion(ref: VersionRef): Promise<VersionFiles> {
    return readAllFiles(async (file) => {
      try {
        const res = await this.client.send(new GetObjectCommand({ Bucket: this.s3.bucket, Key: this.key(ref, file) }));
        return (await res.Body?.transformToString('utf-8')) ?? '';
      } catch (err) {
        if (err instanceof NoSuchKey) return undefined;
        throw err;
      }
    });
  }

  deleteFunction(tenantId: string, functionName: string): Promise<number> {
    return this.deleteWhere(`${this.functionsPrefix()}${artifactName(tenantId, functionName)}/`, () => true);
  }

  deleteTenant(tenantId: string): Promise<number> {
    const prefix = this.functionsPrefix();
    return this.deleteWhere(
      prefix,
      (key) => tenantOfArtifactName(key.slice(prefix.length).split('/')[0]!) === tenantId,
    );
  }

  close(): void {
    this.client.destroy();
  }

  /** Lists the keys under `prefix` page by page and deletes those `selects` accepts, a page (at most 1000) per request. */
  private async deleteWhere(prefix: string, selects: (key: string) => boolean): Promise<number> {
    let deleted = 0;
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.s3.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      const keys = (page.Contents ?? []).map((o) => o.Key!).filter(selects);
      if (keys.length > 0) {
        const res = await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.s3.bucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }),
        );
        if (res.Errors?.length) throw new Error(`S3 refused to delete ${res.Errors.length} of ${keys.length} objects`);
        deleted += keys.length;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return deleted;
  }

  private functionsPrefix(): string {
    return `${[this.s3.prefix.replace(/\/+$/, ''), 'functions'].filter(Boolean).join('/')}/`;
  }

  private functionKey(ref: VersionRef, rest: string): string {
    return [this.s3.prefix.replace(/\/+$/, ''), 'functions', artifactName(ref.tenantId, ref.functionName), rest]
      .filter(Boolean)
      .join('/');
  }

  private key(ref: VersionRef, file: string): string {
    return this.functionKey(ref, `v${ref.version}/${file}`);
  }
}

/**
 * S3 first; when it cannot be reached the version goes to DATA_DIR instead, recorded as `filesystem-fallback`
 * on the version row and in a warning, so the service keeps making versions while storage is down.
 */
export class FallbackArtifactStore implements ArtifactStore {
  fallbacks = 0;

  constructor(
    private readonly primary: S3ArtifactStore,
    private readonly fallback: FilesystemArtifactStore,
    private readonly logger: Logger,
  ) {}

  async writeVersion(ref: VersionRef, files: VersionFiles, storage?: StorageKind): Promise<WrittenVersion> {
    if (storage !== undefined)
      return storage === 's3' ? this.primary.writeVersion(ref, files) : this.fallback.writeVersion(ref, files);
    try {
      return await this.primary.writeVersion(ref, files);
    } catch (err) {
      this.fallbacks += 1;
      this.logger.warn('artifact storage unreachable, version written to the filesystem', {
        function_name: ref.functionName,
        version: ref.version,
        error: (err as Error).message,
      });
      return this.fallback.writeVersion(ref, files);
    }
  }

  async setCurrent(ref: VersionRef): Promise<void> {
    await this.fallback.setCurrent(ref);
    await this.primary.setCurrent(ref).catch((err: Error) =>
      this.logger.warn('artifact storage unreachable, current pointer kept on the filesystem only', {
        error: err.message,
      }),
    );
  }

  readFile(ref: VersionRef, file: StoredFile, storage: StorageKind): Promise<string> {
    return storage === 's3' ? this.primary.readFile(ref, file) : this.fallback.readFile(ref, file);
  }

  async downloadUrl(ref: VersionRef, file: ArtifactFile, storage: StorageKind): Promise<string | null> {
    return storage === 's3' ? this.primary.downloadUrl(ref, file) : null;
  }

  readVersion(ref: VersionRef, storage: StorageKind): Promise<VersionFiles> {
    return storage === 's3' ? this.primary.readVersion(ref) : this.fallback.readVersion(ref);
  }

  /** Both places: a function's versions may be split between them. S3 unreachable fails the delete (fail closed). */
  async deleteFunction(tenantId: string, functionName: string): Promise<number> {
    return (
      (await this.primary.deleteFunction(tenantId, functionName)) +
      (await this.fallback.deleteFunction(tenantId, functionName))
    );
  }

  async deleteTenant(tenantId: string): Promise<number> {
    return (await this.primary.deleteTenant(tenantId)) + (await this.fallback.deleteTenant(tenantId));
  }
}

/** The filesystem, or S3 with the filesystem as its fallback. */
export function createPlainArtifactStore(config: Config, logger: Logger): { store: ArtifactStore; close(): void } {
  const filesystem = new FilesystemArtifactStore(config.dataDir);
  if (config.ARTIFACT_STORE === 'filesystem') return { store: filesystem, close: () => undefined };
  if (!config.S3_BUCKET) throw new Error('S3_BUCKET is required when ARTIFACT_STORE=s3');
  const s3 = new S3ArtifactStore({
    bucket: config.S3_BUCKET,
    prefix: config.S3_PREFIX,
    region: config.S3_REGION,
    endpoint: config.S3_ENDPOINT,
    accessKeyId: config.S3_ACCESS_KEY_ID,
    secretAccessKey: config.S3_SECRET_ACCESS_KEY,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    presignSeconds: config.S3_PRESIGN_SECONDS,
    requestTimeoutMs: config.S3_REQUEST_TIMEOUT_MS,
    sseKmsKeyId: config.S3_SSE_KMS_KEY_ID,
  });
  return {
    store: new FallbackArtifactStore(s3, new FilesystemArtifactStore(config.dataDir, 'filesystem-fallback'), logger),
    close: () => s3.close(),
  };
}
