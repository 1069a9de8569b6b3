import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * scripts/node.sh, which `npm start` and `npm test` go through: on a machine whose node is older than the supported
 * major, the command runs under the pinned release from the cache; a new enough node on PATH is used as it is.
 * The cached release here is the Node running this test (a link to process.execPath), so nothing is downloaded.
 */
const root = path.resolve(__dirname, '../..');
const script = path.join(root, 'scripts', 'node.sh');
const pinned = /^readonly NODE_VERSION=(\S+)$/m.exec(fs.readFileSync(script, 'utf8'))![1]!;
const platform = `${process.platform}-${process.arch}`;

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'node-sh-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A directory with only `name` in it, a shell script printing `output`: stands in for an old system node. */
function fakeNode(output: string): string {
  const dir = path.join(tmp, 'old');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'node'), `#!/bin/sh\necho '${output}'\n`, { mode: 0o755 });
  return dir;
}

function run(pathDirs: string[], command: string[]) {
  return spawnSync('/bin/bash', [script, ...command], {
    env: { HOME: tmp, POET_CACHE_DIR: path.join(tmp, 'cache'), PATH: [...pathDirs, '/usr/bin', '/bin'].join(':') },
    encoding: 'utf8',
    timeout: 30_000,
  });
}

test('under an older node it runs the command on the cached pinned release, says so once, and nested calls stay silent', () => {
  const cached = path.join(tmp, 'cache', `node-v${pinned}-${platform}`, 'bin');
  fs.mkdirSync(cached, { recursive: true });
  fs.symlinkSync(process.execPath, path.join(cached, 'node'));
  const old = fakeNode('20');

  // The inner node.sh is what an npm script run under `npm test` would reach.
  const result = run(
    [old],
    ['/bin/bash', script, 'node', '-p', 'process.execPath + " " + process.env.PATH.split(":")[0]'],
  );
  expect(result.stderr).toBe(`node: Node ${process.version} (${path.join(cached, 'node')})\n`);
  expect(result.status).toBe(0);
  const [execPath, firstOnPath] = result.stdout.trim().split(' ');
  expect(execPath).toBe(fs.realpathSync(process.execPath));
  expect(firstOnPath).toBe(cached);
});

test('a node of the supported major already on PATH is used as it is, without touching the cache', () => {
  const own = path.dirname(process.execPath);
  const result = run([own], ['node', '-p', 'process.execPath']);
  expect(result.status).toBe(0);
  expect(result.stdout.trim()).toBe(process.execPath);
  expect(result.stderr).toBe(`node: Node ${process.version} (${process.execPath})\n`);
  expect(fs.existsSync(path.join(tmp, 'cache'))).toBe(false);
});
