import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import type { SandboxRequest, SandboxResult } from '../../src/contracts/analysis';
import { runSandbox, type SandboxOptions } from '../../src/infra/sandbox/run';
import { SandboxForkServer } from '../../src/infra/sandbox/fork-server';
import { waitUntil } from '../../src/cli/wait';
import { ended } from '../helpers/processes';
import { sandboxPython } from '../helpers/sandbox';

// Each test is an attack by submitted code that holds only what any tenant holds: its own source. The code first
// switches off the in-interpreter audit hook (which only reports), so what stops it is the kernel's isolation.
// An attack that works makes f() return its evidence, which the validation reports as a mismatch.

const marker = randomBytes(6).toString('hex');
const DISK_BYTES = sandboxPython.harness.disk_bytes;
const MEMORY_MB = 128;

const ORIGINAL = 'def f():\n    return "ok"\n';

const PRELUDE = `
import gc, os, sys, time
load = __builtins__["__imp" + "ort__"] if isinstance(__builtins__, dict) else getattr(__builtins__, "__imp" + "ort__")
call = lambda target, name, *args, **kwargs: getattr(target, name)(*args, **kwargs)

for obj in gc.get_objects():
    if callable(obj) and getattr(obj, "__name__", None) == "hook" and getattr(obj, "__closure__", None):
        for name, cell in zip(obj.__code__.co_freevars, obj.__closure__):
            if name == "denied":
                cell.cell_contents = frozenset()
            elif name == "write_flags":
                cell.cell_contents = 0
            elif name == "root":
                cell.cell_contents = "/"
`;

/** Enhanced code that runs `body` (a function body returning evidence, or None/raising when stopped) at import. */
function attackCode(body: string): string {
  const indented = body
    .trim()
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
  return `${PRELUDE}
def _attack():
${indented}

try:
    EVIDENCE = _attack()
except BaseException as exc:
    EVIDENCE = None

def f():
    return "ok" if not EVIDENCE else "ESCAPED: " + repr(EVIDENCE)[:400]
`;
}

const request = (enhanced: string, extra: Partial<SandboxRequest> = {}): SandboxRequest => ({
  original_code: ORIGINAL,
  enhanced_code: enhanced,
  function_name: 'f',
  samples: [[]],
  timeout_s: 10,
  memory_mb: MEMORY_MB,
  ...extra,
});

/** The attack's evidence (undefined when it was stopped), and the validation's result. */
async function attack(opts: SandboxOptions, body: string): Promise<{ evidence?: string; result: SandboxResult }> {
  const result = await runSandbox(request(attackCode(body)), opts);
  return { evidence: result.mismatches[0]?.enhanced, result };
}

/** Stopped, and the validation answered as it does for harmless code: f() compared equal, nothing went wrong. */
function expectStopped(outcome: { evidence?: string; result: SandboxResult }): void {
  expect(outcome.evidence).toBeUndefined();
  expect(outcome.result).toMatchObject({ errors: [], mismatches: [], samples_run: 1, imported: true });
}

/** Processes on this machine whose command line holds `needle`. */
function processesWith(needle: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/**
 * Of the processes whose command line holds `needle`, those this test process started (its descendants) and those
 * that escaped any parent (reparented to init): other suites and other stacks on the machine run sandboxes of their
 * own at the same time, whose count says nothing about this one.
 */
function oursOrOrphaned(needle: string): number[] {
  const parentOf = (pid: number) => {
    try {
      return Number(/\) \S+ (\d+)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1]);
    } catch {
      return undefined;
    }
  };
  return processesWith(needle).filter((pid) => {
    const parent = parentOf(pid);
    if (parent === 1) return true;
    for (let at = parent; at !== undefined && at > 1; at = parentOf(at)) if (at === process.pid) return true;
    return false;
  });
}

// What an attacker would go after on a worker: a tenant's stored code in DATA_DIR (world-writable here, so that
// only the isolation, not file permissions, stands in the way), the worker's environment, PostgreSQL's socket.
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'poet-attack-data-'));
const victimDir = path.join(dataDir, 'functions', 'victim', 'current');
const victimFile = path.join(victimDir, 'code.py');
const victimCode = `def victim():\n    return "SECRET-${marker}"\n`;
const socketDir = mkdtempSync(path.join(os.tmpdir(), 'poet-attack-pg-'));
const socketPath = path.join(socketDir, '.s.PGSQL.5432');
let socketConnections = 0;
const unixServer = net.createServer((socket) => {
  socketConnections++;
  socket.destroy();
});
let target: ChildProcess;
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
  lazyConnect: true,
  maxRetriesPerRequest: 1,
});
const forkServer = new SandboxForkServer(sandboxPython);

function resetVictim(): void {
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(victimDir, { recursive: true });
  for (const dir of [dataDir, path.dirname(path.dirname(victimDir)), path.dirname(victimDir), victimDir])
    chmodSync(dir, 0o777);
  writeFileSync(victimFile, victimCode);
  chmodSync(victimFile, 0o666);
}

beforeAll(async () => {
  process.env.POET_ATTACK_SECRET = `ENV-${marker}`;
  chmodSync(socketDir, 0o755);
  await new Promise<void>((resolve) => unixServer.listen(socketPath, resolve));
  chmodSync(socketPath, 0o777);
  target = spawn('sleep', ['300'], { stdio: 'ignore' });
  await redis.connect();
});

beforeEach(resetVictim);

afterAll(async () => {
  target.kill('SIGKILL');
  unixServer.close();
  redis.disconnect();
  await forkServer.close();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(socketDir, { recursive: true, force: true });
});

function expectVictimUntouched(): void {
  expect(readdirSync(victimDir)).toEqual(['code.py']);
  expect(readFileSync(victimFile, 'utf8')).toBe(victimCode);
  expect(statSync(victimFile).mode & 0o777).toBe(0o666);
}

const WRITES: [string, string][] = [
  [
    'appends through a directory descriptor (dir_fd)',
    `d = os.open(${JSON.stringify(victimDir)}, os.O_RDONLY)\nfd = os.open("code.py", os.O_WRONLY | os.O_APPEND, dir_fd=d)\nos.write(fd, b"pwned")\nreturn "appended"`,
  ],
  [
    'opens for writing',
    `with open(${JSON.stringify(victimFile)}, "w") as handle:\n    handle.write("pwned")\nreturn "written"`,
  ],
  [
    'renames',
    `call(os, "rename", ${JSON.stringify(victimFile)}, ${JSON.stringify(`${victimFile}.moved`)})\nreturn "renamed"`,
  ],
  [
    'hard-links',
    `call(os, "link", ${JSON.stringify(victimFile)}, ${JSON.stringify(`${victimDir}/hardlink`)})\nreturn "linked"`,
  ],
  ['truncates', `call(os, "truncate", ${JSON.stringify(victimFile)}, 0)\nreturn "truncated"`],
  ['changes the mode', `call(os, "chmod", ${JSON.stringify(victimFile)}, 0o600)\nreturn "chmod"`],
  ['removes', `call(os, "remove", ${JSON.stringify(victimFile)})\nreturn "removed"`],
];

describe.each<[string, SandboxOptions]>([
  ['one-shot', sandboxPython],
  ['fork server', { ...sandboxPython, forkServer }],
])('sandbox (%s) under attack', (_path, opts) => {
  it('the attacks below have the audit hook off: what the hook denied now works inside the sandbox', async () => {
    // Control: connect to its own loopback, fork and signal its own child, write and rename in its own /tmp.
    const control = await attack(
      opts,
      `
net = load("socket")
server = call(net, "socket")
server.bind(("127.0.0.1", 0))
server.listen(1)
call(net, "create_connection", server.getsockname(), 2).close()
pid = call(os, "fork")
if pid == 0:
    time.sleep(5)
    os._exit(0)
call(os, "kill", pid, 9)
path = load("tempfile").mkdtemp()
open(path + "/a", "w").write("x")
call(os, "rename", path + "/a", path + "/b")
return "all allowed"
`,
    );
    expect(control.evidence).toBe(`"ESCAPED: 'all allowed'"`);
  });

  it('does not let it read /etc/shadow', async () => {
    expectStopped(await attack(opts, 'return open("/etc/" + "shadow").read()[:80]'));
  });

  it("does not let it read the worker's environment through /proc", async () => {
    const pids = JSON.stringify([process.pid, forkServer.pid ?? process.pid]);
    const body = `
hits = []
for pid in ${pids} + os.listdir("/proc"):
    try:
        data = open(f"/proc/{pid}/environ", "rb").read()
    except OSError:
        continue
    if b"${marker}" in data or b"DATABASE_URL" in data or b"REDIS_URL" in data:
        hits.append(pid)
return hits
`;
    expectStopped(await attack(opts, body));
  });

  it("does not let it read other tenants' code in DATA_DIR", async () => {
    expectStopped(await attack(opts, `return open(${JSON.stringify(victimFile)}).read()`));
  });

  it.each(WRITES)('does not let it change a file outside when it %s', async (_how, body) => {
    expectStopped(await attack(opts, body));
    expectVictimUntouched();
  });

  it("does not let it change the interpreter's packages or the harness", async () => {
    const body = `
done = []
for module in ("json", "yaml", "sandbox", "isolation"):
    spec = call(load("importlib.util"), "find_spec", module)
    origin = spec.origin if spec else getattr(sys.modules.get(module), "__file__", None)
    if not origin:
        continue
    try:
        open(origin, "a").write("# pwned")
        done.append(origin)
    except OSError:
        pass
return done
`;
    expectStopped(await attack(opts, body));
  });

  it('does not let it reach Redis over TCP', async () => {
    const key = `poet:attack:${marker}`;
    const body = `
s = call(load("socket"), "create_connection", ("127.0.0.1", 6379), 2)
s.sendall(b"SET ${key} 1\\r\\n")
return s.recv(64)
`;
    expectStopped(await attack(opts, body));
    expect(await redis.exists(key)).toBe(0);
  });

  it("does not let it reach PostgreSQL's Unix socket", async () => {
    const body = `
net = load("socket")
for path in (${JSON.stringify(socketPath)}, "/var/run/postgresql/.s.PGSQL.5432", "/tmp/.s.PGSQL.5432"):
    s = call(net, "socket", net.AF_UNIX)
    try:
        s.connect(path)
        return path
    except OSError:
        pass
return None
`;
    expectStopped(await attack(opts, body));
    expect(socketConnections).toBe(0);
  });

  it("does not let it join the worker's network namespace with setns", async () => {
    const body = `
libc = call(load("ctypes"), "CDLL", None, use_errno=True)
net = load("socket")
for path in ["/proc/${process.pid}/ns/net", "/proc/1/ns/net"] + [f"/proc/{p}/ns/net" for p in os.listdir("/proc") if p.isdigit()]:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        continue
    if libc.setns(fd, 0x40000000) == 0:
        try:
            call(net, "create_connection", ("127.0.0.1", 6379), 1).close()
            return "reached redis after setns " + path
        except OSError:
            pass
return None
`;
    expectStopped(await attack(opts, body));
  });

  it('kills a process it started in a session of its own (fork_exec with setsid) when the validation ends', async () => {
    const seconds = `600.${parseInt(marker.slice(0, 6), 16)}`;
    const body = `
r, w = os.pipe()
helper = load("_posix" + "subprocess")
args = ([b"/bin/sleep", b"${seconds}"], [b"/bin/sleep"], True, (), None, None, -1, -1, -1, -1, -1, -1, r, w, True, True, -1, None, None, None, -1, None, False)
getattr(helper, "fork" + "_exec")(*args)
time.sleep(0.3)
return None
`;
    expectStopped(await attack(opts, body));
    await waitUntil(async () => processesWith(seconds).length === 0, 5_000, 'nothing left of the forked process');
  });

  it('does not let it signal a process outside, with os.kill or pidfd_send_signal', async () => {
    const body = `
signal = load("signal")
done = []
try:
    call(os, "kill", ${target.pid}, 9)
    done.append("kill")
except OSError:
    pass
try:
    call(signal, "pidfd_send_signal", call(os, "pidfd_open", ${target.pid}), 9)
    done.append("pidfd")
except OSError:
    pass
return done
`;
    expectStopped(await attack(opts, body));
    expect(ended(target.pid!)).toBe(false);
  });

  it('stops a fork bomb at its task limit, and nothing of it outlives the validation', async () => {
    const body = `
count = 0
try:
    for _ in range(2000):
        if call(os, "fork") == 0:
            time.sleep(20)
            os._exit(0)
        count += 1
except OSError:
    pass
return count if count >= 200 else None
`;
    const before = oursOrOrphaned('sandbox').length;
    expectStopped(await attack(opts, body));
    await waitUntil(async () => oursOrOrphaned('sandbox').length <= before, 5_000, 'the fork bomb gone');
  });

  it('stops writes past the disk quota, spread over many files', async () => {
    const body = `
written = 0
base = load("tempfile").mkdtemp()
chunk = b"x" * (4 << 20)
try:
    for i in range(64):
        with open(f"{base}/fill{i}", "wb") as handle:
            handle.write(chunk)
        written += len(chunk)
except OSError:
    pass
load("shutil").rmtree(base)
return written if written > ${DISK_BYTES} else None
`;
    expectStopped(await attack(opts, body));
  });

  it('stops allocations past the memory limit', async () => {
    expectStopped(await attack(opts, `return len(bytearray(${MEMORY_MB * 2} << 20))`));
  });

  it("neither reads nor forges a concurrent validation's request or result", async () => {
    const secret = `VICTIM-${marker}`;
    // The victim's enhanced code changed behaviour: its validation must report that mismatch, whatever runs beside it.
    const victim = runSandbox(
      {
        original_code: `import time\ntime.sleep(1.5)\n\ndef f():\n    return "${secret}"\n`,
        enhanced_code: `import time\ntime.sleep(1.5)\n\ndef f():\n    return "changed"\n`,
        function_name: 'f',
        samples: [[]],
        timeout_s: 10,
        memory_mb: MEMORY_MB,
      },
      opts,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    const forged = JSON.stringify({
      compiled: true,
      imported: true,
      samples_run: 1,
      mismatches: [],
      errors: [],
      findings: [],
      safety_level: 'high',
      duration_ms: 1,
    });
    const body = `
hits = []
roots = ["/tmp", ${JSON.stringify(os.tmpdir())}] + [f"/proc/{p}/{d}" for p in os.listdir("/proc") if p.isdigit() for d in ("cwd", "root", "fd")]
seen = 0
for root in roots:
    for folder, dirs, files in os.walk(root):
        for name in files:
            seen += 1
            if seen > 5000:
                break
            path = os.path.join(folder, name)
            try:
                if b"VICTIM-" + b"${marker}" in open(path, "rb").read(1 << 20):
                    hits.append("read " + path)
            except OSError:
                pass
            if name in ("stdout", "request.json"):
                try:
                    open(path, "w").write(${JSON.stringify(forged)})
                    hits.append("forged " + path)
                except OSError:
                    pass
return hits
`;
    expectStopped(await attack(opts, body));
    const result = await victim;
    expect(result.mismatches).toEqual([
      { sample: { args: [], kwargs: {} }, original: `'${secret}'`, enhanced: "'changed'" },
    ]);
  });
});
