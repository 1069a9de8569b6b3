import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort, isListening, waitFor } from './net';

export interface S3Server {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

/** The versitygw binary: S3_SERVER_PATH (scripts/test.sh sets it), else scripts/install-s3-server.sh finds or builds one. */
function serverBinary(): string | undefined {
  if (process.env.S3_SERVER_PATH)
    return existsSync(process.env.S3_SERVER_PATH) ? process.env.S3_SERVER_PATH : undefined;
  const found = spawnSync('bash', [path.join(__dirname, '..', '..', 'scripts', 'install-s3-server.sh')], {
    encoding: 'utf8',
  });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/**
 * A real S3-compatible server (versitygw, posix backend) of the test's own, on a free port with a fresh bucket.
 * Undefined, with the reason, when none can be started.
 */
export async function startS3Server(): Promise<S3Server | { unavailable: string }> {
  const binary = serverBinary();
  if (!binary) return { unavailable: 'no versitygw binary (scripts/install-s3-server.sh could not find or build one)' };
  const root = mkdtempSync(path.join(os.tmpdir(), 'poet-s3-'));
  const port = await freePort();
  const creds = { accessKeyId: 'poettest', secretAccessKey: 'poettestsecret' };
  for (const dir of ['meta', 'data']) mkdirSync(path.join(root, dir));
  const child: ChildProcess = spawn(
    binary,
    [
      '--access',
      creds.accessKeyId,
      '--secret',
      creds.secretAccessKey,
      '--port',
      `127.0.0.1:${port}`,
      'posix',
      '--sidecar',
      path.join(root, 'meta'),
      path.join(root, 'data'),
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
    rmSync(root, { recursive: true, force: true });
  };
  try {
    await waitFor(() => isListening(port), 10_000, 'versitygw listening');
  } catch (err) {
    await stop();
    return { unavailable: `versitygw did not start: ${(err as Error).message}` };
  }
  const endpoint = `http://127.0.0.1:${port}`;
  const bucket = 'poet-artifacts';
  const client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: creds });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  client.destroy();
  return { endpoint, bucket, ...creds, stop };
}
