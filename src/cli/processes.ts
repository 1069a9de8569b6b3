import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

/**
 * `node <distDir>/<api|worker>/main.js`, the built service as production runs it: `poet start` spawns these, and so do
 * the process-level tests and the benchmarks.
 */
export function spawnService(
  distDir: string,
  name: 'api' | 'worker',
  env: NodeJS.ProcessEnv,
  stdio: StdioOptions,
): ChildProcess {
  return spawn(process.execPath, [path.join(distDir, name, 'main.js')], { env, stdio });
}

/** A TCP port on 127.0.0.1 that is free now (the OS picks it), for a server started next. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}
