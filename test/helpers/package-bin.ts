import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

/** The script of a locally installed package's command, as its package.json names it. */
function binOf(pkg: string, command: string): string {
  const manifest = require.resolve(`${pkg}/package.json`);
  const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin: string | Record<string, string> };
  const script = typeof bin === 'string' ? bin : bin[command];
  if (!script) throw new Error(`${pkg} has no command ${command}`);
  return path.join(path.dirname(manifest), script);
}

export interface BinRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs an installed package's command on this Node (no npx, no registry); a non-zero exit is returned, not thrown. */
export async function runPackageBin(
  pkg: string,
  command: string,
  args: string[],
  opts: { cwd: string; env?: Record<string, string> },
): Promise<BinRun> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [binOf(pkg, command), ...args], {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw err;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}
