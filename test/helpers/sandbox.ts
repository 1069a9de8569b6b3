import path from 'node:path';
import type { SandboxOptions } from '../../src/infra/sandbox/run';

export const scriptDir = path.join(__dirname, '../../python');

/** The sandbox as a worker runs it by default: python3 from PATH, kernel isolation, 64 MiB of disk. */
export const sandboxPython: Omit<SandboxOptions, 'forkServer'> = {
  pythonBin: 'python3',
  scriptDir,
  pathEnv: process.env.PATH!,
  harness: { isolation: 'namespaces', disk_bytes: 64 << 20 },
};
