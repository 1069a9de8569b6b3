import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  FallbackArtifactStore,
  FilesystemArtifactStore,
  S3ArtifactStore,
  type VersionFiles,
} from '../../src/infra/storage/artifact-store';
import { createLogger } from '../../src/infra/observability/logger';
import { freePort } from '../helpers/net';
import { startS3Server, type S3Server } from '../helpers/s3-server';
import { getJson, postJson, startStack } from '../helpers/stack';

const logger = createLogger({ level: 'error', service: 'test', silent: true });
const files = (tag: string): VersionFiles => ({
  'code.py': `# ${tag}\n`,
  'code.dana': `# dana ${tag}\n`,
  'params.json': '{"retries": 3}\n',
  'metadata.json': `{"tag": "${tag}"}\n`,
});
const ref = { tenantId: 'default', functionName: 'stored_fn', version: 1 };

describe('S3 artifact store against a real S3-compatible server (versitygw)', () => {
  let server: S3Server | undefined;
  let dataDir: string;
  const s3Store = (endpoint: string, bucket = server!.bucket, sseKmsKeyId?: string) =>
    new S3ArtifactStore({
      sseKmsKeyId,
      bucket,
      prefix: 'poet',
      region: 'us-east-1',
      endpoint,
      accessKeyId: server?.accessKeyId ?? 'x',
      secretAccessKey: server?.secretAccessKey ?? 'x',
      forcePathStyle: true,
      presignSeconds: 60,
      requestTimeoutMs: 1_000,
    });

  beforeAll(async () => {
    const started = await startS3Server();
    if ('unavailable' in started) {
      // The only allowed skip: no S3-compatible server could be started on this machine.
      console.warn(`S3 artifact-store tests SKIPPED: ${started.unavailable}`);
    } else {
      server = started;
    }
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'poet-artifacts-'));
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const s3Test = (name: string, body: () => Promise<void>) => test(name, async () => (server ? body() : undefined));

  s3Test(
    'writes a version, reads it back, and serves presigned download URLs that work without credentials',
    async () => {
      const store = s3Store(server!.endpoint);
      const written = await store.writeVersion(ref, files('one'));
      expect(written).toEqual({ location: `s3://${server!.bucket}/poet/functions/stored_fn/v1/`, storage: 's3' });
      await store.setCurrent(ref);
      expect(await store.readFile(ref, 'code.py')).toBe('# one\n');
      const url = await store.downloadUrl(ref, 'metadata.json');
      expect(url).toContain('X-Amz-Signature=');
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('{"tag": "one"}\n');
      // The current pointer is an object holding the version number.
      const current = await fetch(url.replace('v1/metadata.json', 'current'));
      expect(current.status).toBe(403); // not presigned: the bucket is private
      store.close();
    },
  );

  s3Test('S3_SSE_KMS_KEY_ID: every object is written with SSE-KMS under that key, and reads back', async () => {
    const store = s3Store(server!.endpoint, server!.bucket, 'alias/poet-artifacts');
    // The requests as they leave the SDK: versitygw has no KMS and ignores the headers, so they are what we can check.
    const sent: Record<string, string>[] = [];
    store.client.middlewareStack.add(
      (next) => async (args) => {
        sent.push({ ...(args.request as { headers: Record<string, string> }).headers });
        return next(args);
      },
      { step: 'finalizeRequest' },
    );
    const sseRef = { ...ref, functionName: 'sse_fn' };
    await store.writeVersion(sseRef, files('sse'));
    await store.setCurrent(sseRef);
    expect(sent).toHaveLength(5);
    for (const headers of sent)
      expect(headers).toMatchObject({
        'x-amz-server-side-encryption': 'aws:kms',
        'x-amz-server-side-encryption-aws-kms-key-id': 'alias/poet-artifacts',
      });
    expect(await store.readFile(sseRef, 'code.py')).toBe('# sse\n');
    store.close();
  });

  s3Test('another tenant with the same function name gets its own keys', async () => {
    const store = s3Store(server!.endpoint);
    await store.writeVersion({ ...ref, tenantId: 'acme' }, files('acme'));
    expect(await store.readFile({ ...ref, tenantId: 'acme' }, 'code.py')).toBe('# acme\n');
    expect(await store.readFile(ref, 'code.py')).toBe('# one\n');
    store.close();
  });

  s3Test(
    'the whole service on S3: versions are stored in the bucket and the versions API serves presigned URLs',
    async () => {
      const stack = await startStack('s3', {
        ARTIFACT_STORE: 's3',
        S3_BUCKET: server!.bucket,
        S3_PREFIX: 'svc',
        S3_ENDPOINT: server!.endpoint,
        S3_ACCESS_KEY_ID: server!.accessKeyId,
        S3_SECRET_ACCESS_KEY: server!.secretAccessKey,
        S3_FORCE_PATH_STYLE: 'true',
      });
      try {
        const enhanced = await postJson(`${stack.url}/api/v1/functions/enhance`, {
          function_name: 'on_s3',
          original_code: 'def on_s3(x: int) -> int:\n    return x\n',
        });
        expect(enhanced.status).toBe(200);
        const version = await getJson(`${stack.url}/api/v1/functions/on_s3/versions/1`);
        expect(version.body).toMatchObject({ storage: 's3', code: { python: enhanced.body.enhanced_code.python } });
        const download = await fetch(version.body.downloads['code.py']);
        expect(await download.text()).toBe(enhanced.body.enhanced_code.python);
      } finally {
        await stack.close();
      }
    },
  );

  test('S3 unreachable: the version goes to the filesystem, recorded as a fallback, and reads come from there', async () => {
    const deadPort = await freePort();
    const unreachable = s3Store(`http://127.0.0.1:${deadPort}`, 'nowhere');
    const store = new FallbackArtifactStore(
      unreachable,
      new FilesystemArtifactStore(dataDir, 'filesystem-fallback'),
      logger,
    );
    const written = await store.writeVersion(ref, files('fallback'));
    expect(written.storage).toBe('filesystem-fallback');
    expect(written.location).toBe(path.join(dataDir, 'functions', 'stored_fn', 'v1'));
    expect(store.fallbacks).toBe(1);
    await store.setCurrent(ref);
    expect(await store.readFile(ref, 'code.py', written.storage)).toBe('# fallback\n');
    expect(await store.downloadUrl(ref, 'code.py', written.storage)).toBeNull();
    unreachable.close();
  });
});
