import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { isolationShortfall } from '../../src/infra/sandbox/gate';
import { scriptDir } from '../helpers/sandbox';

// Production workers run as an ordinary user (the image's `node`): the isolation must not need root. As root here,
// the harness runs as `nobody` through runuser, with Debian's python3 (a pyenv under /root is not readable by it).
describe('the isolation as an unprivileged user', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'poet-unprivileged-'));
  beforeAll(() => {
    chmodSync(dir, 0o755);
    mkdirSync(path.join(dir, 'poet_runtime'), { mode: 0o755 });
    for (const file of ['sandbox.py', 'isolation.py', 'poet_runtime/__init__.py'])
      copyFileSync(path.join(scriptDir, file), path.join(dir, file));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the probe every fact a worker requires', async () => {
    const settings = JSON.stringify({ isolation: 'namespaces', disk_bytes: 16 << 20 });
    const harness = ['-I', path.join(dir, 'sandbox.py'), settings, '--probe'];
    const [command, args] =
      process.getuid?.() === 0
        ? ['runuser', ['-u', 'nobody', '--', '/usr/bin/python3', ...harness]]
        : ['python3', harness];
    const { stdout } = await promisify(execFile)(command, args, {
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
      cwd: '/',
    });
    const facts = JSON.parse(stdout);
    expect(isolationShortfall(facts)).toBeUndefined();
    expect(facts).toMatchObject({ uid: 65534, pid: 2, seccomp: '2' });
  });
});
