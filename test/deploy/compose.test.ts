import { spawnSync } from 'node:child_process';
import { heapOptions, WORKER_MALLOC_ARENA_MAX } from '../../src/cli/dev-stack';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { loadConfig } from '../../src/config';
import { SEARCH_ATTRIBUTE_NAMES } from '../../src/definitions/search-attributes';

const root = path.resolve(__dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');

interface Healthcheck {
  test?: string | string[];
}
interface DependsOn {
  condition?: string;
}
interface Service {
  image?: string;
  build?: { context?: string; dockerfile?: string; target?: string };
  environment?: Record<string, string>;
  depends_on?: Record<string, DependsOn> | string[];
  healthcheck?: Healthcheck;
  volumes?: string[];
  ports?: string[];
  restart?: string;
  container_name?: string;
  entrypoint?: string[];
  command?: string | string[];
  deploy?: { replicas?: number | string };
  stop_grace_period?: string;
  init?: boolean;
  security_opt?: string[];
  cap_drop?: string[];
  privileged?: boolean;
  secrets?: string[];
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  secrets?: Record<string, { file?: string }>;
}

function loadCompose(): Compose {
  // Compose resolves `<<` merge keys, as YAML 1.1 does.
  const doc = parseDocument(read('docker-compose.temporal.yml'), { merge: true });
  expect(doc.errors).toEqual([]);
  expect(doc.warnings).toEqual([]);
  return doc.toJS() as Compose;
}

const compose = loadCompose();
const services = compose.services;
const service = (name: string): Service => {
  const found = services[name];
  if (!found) throw new Error(`service ${name} missing from docker-compose.temporal.yml`);
  return found;
};
/** The repository file behind a compose secret a service mounts at `mounted` (/run/secrets/<name>). */
function secretFile(s: Service, mounted: string | undefined): string {
  const name = path.basename(mounted ?? '');
  expect(mounted).toBe(`/run/secrets/${name}`);
  expect(s.secrets).toContain(name);
  const file = compose.secrets?.[name]?.file;
  expect(file).toBeDefined();
  return path.join(root, file ?? '');
}
const healthTest = (s: Service) => [s.healthcheck?.test ?? []].flat().join(' ');
const isOneShot = (s: Service) => s.restart === 'no';

/** Tag of an image reference, ignoring a registry port (host:5000/name) and a digest. */
function imageTag(image: string): string | undefined {
  const withoutDigest = image.split('@')[0] ?? '';
  const lastSegment = withoutDigest.split('/').pop() ?? '';
  const colon = lastSegment.lastIndexOf(':');
  return colon === -1 ? undefined : lastSegment.slice(colon + 1);
}

describe('docker-compose.temporal.yml', () => {
  const expected = [
    'temporal-postgresql',
    'temporal-frontend',
    'temporal-history',
    'temporal-matching',
    'temporal-worker',
    'temporal-setup',
    'encryption-keys',
    'temporal-ui',
    'redis',
    'postgres',
    'api',
    'worker',
    'worker-version',
    'prometheus',
    'grafana',
  ];

  test('declares the whole stack', () => {
    expect(Object.keys(services).sort()).toEqual([...expected].sort());
  });

  test.each(expected)('%s pins its image by an explicit tag other than latest', (name) => {
    const image = service(name).image;
    expect(image).toBeDefined();
    const tag = imageTag(image ?? '');
    expect(tag).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/);
    expect(tag).not.toBe('latest');
  });

  test('every long-running service has a healthcheck and only the setup services are one-shot', () => {
    const oneShot = Object.entries(services)
      .filter(([, s]) => isOneShot(s))
      .map(([name]) => name);
    expect(oneShot.sort()).toEqual(['encryption-keys', 'temporal-setup', 'worker-version']);
    for (const [name, s] of Object.entries(services)) {
      if (isOneShot(s)) continue;
      expect({ name, test: healthTest(s) }).toEqual({ name, test: expect.stringMatching(/\S/) });
    }
  });

  test('every depends_on names a condition its target can satisfy', () => {
    for (const [name, s] of Object.entries(services)) {
      if (!s.depends_on) continue;
      expect({ name, listForm: Array.isArray(s.depends_on) }).toEqual({ name, listForm: false });
      for (const [target, dep] of Object.entries(s.depends_on as Record<string, DependsOn>)) {
        const targetService = service(target);
        const wanted = isOneShot(targetService) ? 'service_completed_successfully' : 'service_healthy';
        expect({ name, target, condition: dep.condition }).toEqual({ name, target, condition: wanted });
      }
    }
  });

  const temporalServices = ['frontend', 'history', 'matching', 'worker'];

  test("Temporal's four services run apart on its own PostgreSQL, history setting up the schema first", () => {
    for (const name of temporalServices) {
      const temporal = service(`temporal-${name}`);
      expect(temporal.environment?.SERVICES).toBe(name);
      expect(temporal.environment?.DB).toBe('postgres12');
      expect(temporal.environment?.POSTGRES_SEEDS).toBe('temporal-postgresql');
      expect(temporal.image).toMatch(name === 'history' ? /^temporalio\/auto-setup:/ : /^temporalio\/server:/);
    }
    expect(Object.keys(service('temporal-history').depends_on ?? {})).toEqual(['temporal-postgresql']);
    // The schema is there once history listens (auto-setup sets it up before starting the server).
    expect(healthTest(service('temporal-history'))).toContain('/dev/tcp/');
    for (const name of ['matching', 'frontend'])
      expect(Object.keys(service(`temporal-${name}`).depends_on ?? {})).toEqual(['temporal-history']);
    expect(Object.keys(service('temporal-worker').depends_on ?? {})).toEqual(['temporal-frontend']);
    expect(service('temporal-worker').environment?.PUBLIC_FRONTEND_ADDRESS).toBe('temporal-frontend:7233');
    expect(service('temporal-history').environment?.TEMPORAL_ADDRESS).toBe('temporal-frontend:7233');
    expect(service('temporal-frontend').ports).toEqual(['7233:7233']);
    expect(healthTest(service('temporal-frontend'))).toMatch(/temporal operator cluster health/);
    expect(healthTest(service('temporal-postgresql'))).toContain('pg_isready');
    expect(healthTest(service('postgres'))).toContain('pg_isready');
    expect(healthTest(service('redis'))).toContain('ping');
  });

  test('temporal-setup registers every search attribute the workflows use, as Keyword, idempotently', () => {
    const setup = service('temporal-setup');
    expect(setup.image).toMatch(/^temporalio\/admin-tools:/);
    // The admin-tools entrypoint only sleeps, so the script must replace it rather than be passed to it.
    expect(setup.entrypoint?.[0]).toMatch(/sh$/);
    const script = [setup.command ?? []].flat().join('\n');
    expect(SEARCH_ATTRIBUTE_NAMES).toEqual(
      expect.arrayContaining(['FunctionName', 'Domain', 'CacheOutcome', 'Outcome', 'Provider', 'Tenant']),
    );
    for (const name of SEARCH_ATTRIBUTE_NAMES) expect(script).toMatch(new RegExp(`\\b${name}\\b`));
    expect(script).toContain('temporal operator search-attribute create');
    expect(script).toContain('--type Keyword');
    expect(script).toContain('search-attribute list');
  });

  test('temporal-ui serves on host port 8233', () => {
    expect(service('temporal-ui').ports).toContain('8233:8080');
  });

  test.each([
    ['api', 'api'],
    ['worker', 'worker'],
  ])('%s is built from deploy/Dockerfile target %s and wired to the stack', (name, target) => {
    const s = service(name);
    expect(s.build).toEqual({ context: '.', dockerfile: 'deploy/Dockerfile', target });
    const env = s.environment ?? {};
    expect(env.TEMPORAL_ADDRESS).toBe('temporal-frontend:7233');
    expect(env.TEMPORAL_NAMESPACE).toBe('default');
    expect(env.TEMPORAL_TASK_QUEUE).toBe('poet-enhance');
    // Secrets come from files: compose secrets under /run/secrets, the key ring from the encryption-keys service.
    expect(env.DATABASE_URL).toBeUndefined();
    const config = loadConfig({
      DATABASE_URL_FILE: secretFile(s, env.DATABASE_URL_FILE),
      REDIS_URL_FILE: secretFile(s, env.REDIS_URL_FILE),
    });
    expect(new URL(config.DATABASE_URL ?? '').hostname).toBe('postgres');
    expect(new URL(config.REDIS_URL ?? '').hostname).toBe('redis');
    expect(env.ENCRYPTION_KEYS_FILE).toBe(`${env.DATA_DIR}/encryption-keys`);
    expect(service('encryption-keys').volumes).toEqual([`artifacts:${env.DATA_DIR}`]);
    expect(Object.keys(s.depends_on ?? {}).sort()).toEqual([
      'encryption-keys',
      'postgres',
      'redis',
      'temporal-frontend',
      'temporal-setup',
    ]);
  });

  test('api and worker run versioned in one worker deployment, and worker-version makes the built worker current', () => {
    const names = ['api', 'worker', 'worker-version'].map(
      (name) => service(name).environment?.TEMPORAL_DEPLOYMENT_NAME,
    );
    expect(names).toEqual(['poet', 'poet', 'poet']);
    expect(loadConfig({ TEMPORAL_DEPLOYMENT_NAME: names[0] }).TEMPORAL_DEPLOYMENT_NAME).toBe('poet');
    const version = service('worker-version');
    expect(version.image).toBe(service('worker').image);
    expect(version.depends_on).toEqual({ worker: { condition: 'service_healthy' } });
    expect(version.command).toEqual(['node', 'dist/cli/main.js', 'workers', 'make-current']);
  });

  test('api and worker share one named artifacts volume mounted at DATA_DIR', () => {
    const mountsOf = (name: string) => {
      const s = service(name);
      const dataDir = s.environment?.DATA_DIR;
      expect(dataDir).toMatch(/^\//);
      return (s.volumes ?? []).filter((v) => v.split(':')[1] === dataDir).map((v) => v.split(':')[0]);
    };
    const apiMounts = mountsOf('api');
    expect(apiMounts).toHaveLength(1);
    expect(mountsOf('worker')).toEqual(apiMounts);
    expect(Object.keys(compose.volumes ?? {})).toContain(apiMounts[0]);
  });

  test('api publishes 8080 and its healthcheck asks /health/ready', () => {
    const api = service('api');
    expect(api.ports).toContain('8080:8080');
    expect(healthTest(api)).toContain('/health/ready');
  });

  test('prometheus mounts its config and the alert rules from deploy/prometheus/', () => {
    const prometheus = service('prometheus');
    expect(prometheus.image).toMatch(/^prom\/prometheus:v\d/);
    expect(prometheus.volumes).toEqual(
      expect.arrayContaining([
        './deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro',
        './deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro',
      ]),
    );
    expect([prometheus.command].flat()).toContain('--config.file=/etc/prometheus/prometheus.yml');
    expect(Object.keys(prometheus.depends_on ?? {})).toEqual(['api']);
    expect(healthTest(prometheus)).toContain('/-/ready');
  });

  test('grafana provisions its data source and dashboards from deploy/grafana/', () => {
    const grafana = service('grafana');
    expect(grafana.image).toMatch(/^grafana\/grafana:\d/);
    expect(grafana.volumes).toEqual(
      expect.arrayContaining([
        './deploy/grafana/provisioning:/etc/grafana/provisioning:ro',
        './deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro',
      ]),
    );
    expect(Object.keys(grafana.depends_on ?? {})).toEqual(['prometheus']);
    expect(healthTest(grafana)).toContain('/api/health');
  });

  test.each([
    ['api', 'API_SHUTDOWN_GRACE_SECONDS'],
    ['worker', 'WORKER_SHUTDOWN_GRACE_SECONDS'],
  ])('%s: Docker waits longer than %s before SIGKILL, and an init process forwards SIGTERM', (name, variable) => {
    const s = service(name);
    const grace = Number(s.environment?.[variable]);
    expect(grace).toBeGreaterThan(0);
    const [, stopSeconds] = /^(\d+)s$/.exec(s.stop_grace_period ?? '') ?? [];
    expect(Number(stopSeconds)).toBeGreaterThan(grace);
    expect(s.init).toBe(true);
  });

  test("worker runs validations under the worker's own seccomp profile, with no capabilities", () => {
    const worker = service('worker');
    const seccomp = (worker.security_opt ?? []).find((option: string) => option.startsWith('seccomp='));
    expect(seccomp).toBeDefined();
    expect(fs.existsSync(path.join(root, seccomp!.slice('seccomp='.length)))).toBe(true);
    expect(worker.security_opt).toContain('apparmor=unconfined');
    expect(worker.cap_drop).toEqual(['ALL']);
    expect(worker.privileged).toBeUndefined();
  });

  test('api and worker get the V8 heap limits of `poet start`, the worker its malloc arenas', () => {
    const defaults = loadConfig({});
    expect(service('api').environment?.NODE_OPTIONS).toBe(heapOptions(defaults.API_MAX_HEAP_MB));
    expect(service('worker').environment?.NODE_OPTIONS).toBe(heapOptions(defaults.WORKER_MAX_HEAP_MB));
    expect(service('worker').environment?.MALLOC_ARENA_MAX).toBe(WORKER_MALLOC_ARENA_MAX);
  });

  test('worker can be scaled: replicas set, no fixed container name, no host ports', () => {
    const worker = service('worker');
    expect(worker.deploy?.replicas).toBeDefined();
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports).toBeUndefined();
  });

  test('describes the topology scripts/cluster.sh runs without Docker', () => {
    const cluster = read('scripts/cluster.sh');
    const server = read('scripts/install-temporal-server.sh');
    // The same server release, its four services each run apart.
    for (const name of temporalServices) expect(service(`temporal-${name}`).image).toMatch(/:1\.29\.1$/);
    expect(server).toContain('TEMPORAL_SERVER_VERSION="v1.29.1"');
    expect(cluster).toContain(`temporal_services=(${temporalServices.join(' ')})`);
    expect(cluster).toContain('start --service "$service"');
    // Persistence and visibility in their own databases, the same for every service.
    const env = service('temporal-history').environment ?? {};
    expect(env.DBNAME).toBeDefined();
    expect(env.VISIBILITY_DBNAME).toBeDefined();
    expect(env.DBNAME).not.toBe(env.VISIBILITY_DBNAME);
    for (const name of temporalServices) {
      const { DBNAME, VISIBILITY_DBNAME } = service(`temporal-${name}`).environment ?? {};
      expect({ name, DBNAME, VISIBILITY_DBNAME }).toEqual({
        name,
        DBNAME: env.DBNAME,
        VISIBILITY_DBNAME: env.VISIBILITY_DBNAME,
      });
    }
    expect(cluster).toMatch(/^temporal_db=(\w+)\nvisibility_db=(?!\1\n)\w+$/m);
    // Two workers beside the API.
    expect(service('worker').deploy?.replicas).toBe('${WORKER_REPLICAS:-2}');
    expect(cluster).toContain('WORKER_PROCESSES=2');
  });
});

interface Stage {
  name: string;
  from: string;
  instructions: { op: string; args: string }[];
}

function parseDockerfile(text: string): { globalArgs: Map<string, string>; stages: Stage[] } {
  const lines = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const upper = op.toUpperCase();
    if (upper === 'FROM') {
      const [, from = '', name = ''] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args) ?? [];
      stages.push({ name, from, instructions: [] });
    } else if (stages.length === 0 && upper === 'ARG') {
      const [key = '', value = ''] = args.split('=');
      globalArgs.set(key, value);
    } else {
      stages.at(-1)?.instructions.push({ op: upper, args });
    }
  }
  return { globalArgs, stages };
}

describe('deploy/Dockerfile', () => {
  const { globalArgs, stages } = parseDockerfile(read('deploy/Dockerfile'));
  const stage = (name: string): Stage => {
    const found = stages.find((s) => s.name === name);
    if (!found) throw new Error(`stage ${name} missing from deploy/Dockerfile`);
    return found;
  };
  /** The stage and the stages it is built FROM, nearest first. */
  const lineage = (name: string): Stage[] => {
    const s = stage(name);
    return stages.some((other) => other.name === s.from) ? [s, ...lineage(s.from)] : [s];
  };
  const baseImage = (name: string) =>
    (lineage(name).at(-1)?.from ?? '').replace(/\$\{(\w+)\}/g, (_, arg: string) => globalArgs.get(arg) ?? '');
  const instructions = (name: string, op: string) =>
    lineage(name)
      .flatMap((s) => s.instructions)
      .filter((i) => i.op === op)
      .map((i) => i.args);
  /** The value in force for a target: the last such instruction of the nearest stage that has one. */
  const effective = (name: string, op: string) =>
    lineage(name)
      .map((s) => s.instructions.filter((i) => i.op === op).at(-1)?.args)
      .find((args) => args !== undefined);

  test('installs with npm ci, builds with npm run build, prunes to production dependencies', () => {
    expect(instructions('deps', 'RUN').join('\n')).toMatch(/npm ci\b/);
    expect(instructions('build', 'RUN').join('\n')).toContain('npm run build');
    expect(instructions('prod-deps', 'RUN').join('\n')).toMatch(/npm prune --omit=dev/);
  });

  // One Node major everywhere: the image, the engines field and the release scripts/node.sh pins for npm start and npm test.
  const engines = JSON.parse(read('package.json')).engines.node as string;
  const pinned = /^readonly NODE_VERSION=(\d+)\./m.exec(read('scripts/node.sh'))?.[1];

  test.each(['api', 'worker'])(
    'target %s runs on node:24-bookworm-slim, the major of engines and scripts/node.sh, as a non-root user',
    (target) => {
      expect(baseImage(target)).toBe('node:24-bookworm-slim');
      expect(engines).toMatch(/^>=24\./);
      expect(pinned).toBe('24');
      const user = effective(target, 'USER');
      expect(user).toBeDefined();
      expect(user).not.toMatch(/^(root|0)(:|$)/);
      const cmd = effective(target, 'CMD') ?? '';
      expect(JSON.parse(cmd)).toEqual(['node', `dist/${target}/main.js`]);
    },
  );

  test('runtime carries dist, python, migrations, the dashboard and package manifests', () => {
    const copies = stage('app')
      .instructions.filter((i) => i.op === 'COPY')
      .map((i) => i.args)
      .join('\n');
    for (const part of [
      '/app/dist',
      'python',
      'migrations',
      '/app/public',
      'package.json',
      'package-lock.json',
      'node_modules',
    ]) {
      expect(copies).toContain(part);
    }
    for (const target of ['api', 'worker']) {
      expect(instructions(target, 'COPY')).toContain('--from=app /app /app');
    }
  });

  test('worker installs python3 from Debian and a sandbox venv the operator adds packages to; api does not', () => {
    expect(instructions('worker', 'RUN').join('\n')).toMatch(/apt-get install[^&]*\bpython3\b/);
    expect(instructions('worker', 'RUN').join('\n')).toMatch(
      /python3 -m venv \/opt\/sandbox[\s\S]*pip install[^&]*\$SANDBOX_PACKAGES/,
    );
    expect(instructions('worker', 'ENV')).toContain('PYTHON_BIN=/opt/sandbox/bin/python3');
    expect(instructions('api', 'RUN').join('\n')).not.toContain('python3');
  });

  test('api has a node-based HEALTHCHECK on /health/live', () => {
    const healthcheck = instructions('api', 'HEALTHCHECK').join('\n');
    expect(healthcheck).toContain('/health/live');
    expect(healthcheck).toMatch(/CMD \["node"/);
    expect(healthcheck).not.toMatch(/curl|wget/);
  });

  test('.dockerignore keeps local state out and the build inputs in', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', 'data', '.git']));
    for (const needed of [
      'src',
      'python',
      'migrations',
      'public',
      'package.json',
      'package-lock.json',
      'tsconfig.json',
    ]) {
      expect(ignored).not.toContain(needed);
    }
  });
});

describe('scripts/install-temporal.sh', () => {
  const script = path.join(root, 'scripts/install-temporal.sh');
  let tmp: string;

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'install-temporal-'));
  });
  afterEach(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const writeExecutable = (file: string, body: string) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    return file;
  };

  /**
   * A bin directory holding only the tools the script (and the fake go) needs, so the machine's own go or temporal
   * (wherever installed) can never leak into a run.
   */
  const toolsBin = () => {
    const bin = path.join(tmp, 'tools');
    fs.mkdirSync(bin);
    for (const tool of ['bash', 'cat', 'cut', 'chmod', 'mkdir', 'flock']) {
      const source = ['/usr/bin', '/bin'].map((dir) => path.join(dir, tool)).find((file) => fs.existsSync(file));
      if (!source) throw new Error(`${tool} not found in /usr/bin or /bin`);
      fs.symlinkSync(source, path.join(bin, tool));
    }
    return bin;
  };

  /** A stand-in for go: answers `go env` and `go version`, logs `go install` and creates the binary. */
  const fakeGo = (dir: string, gopath: string) =>
    writeExecutable(
      path.join(dir, 'go'),
      [
        `case "$1 $2" in`,
        `  "env GOBIN") echo ;;`,
        `  "env GOPATH") echo '${gopath}' ;;`,
        `  "version ") echo 'go version go1.26.0 fake' ;;`,
        `  "install "*) echo "GOFLAGS=$GOFLAGS $*" >> '${path.join(tmp, 'go-install.log')}'`,
        `     printf '#!/bin/sh\\n' > '${path.join(gopath, 'bin', 'temporal')}'`,
        `     chmod +x '${path.join(gopath, 'bin', 'temporal')}' ;;`,
        `  *) exit 2 ;;`,
        `esac`,
      ].join('\n'),
    );

  const run = (env: Record<string, string>) => {
    const started = Date.now();
    const result = spawnSync(path.join(toolsBin(), 'bash'), [script], {
      env: { HOME: tmp, GOPATH: path.join(tmp, 'gopath'), ...env },
      encoding: 'utf8',
      timeout: 10_000,
    });
    return { ...result, elapsedMs: Date.now() - started };
  };

  test('prints TEMPORAL_CLI_PATH at once when it is executable', () => {
    const cli = writeExecutable(path.join(tmp, 'custom', 'temporal'), 'exit 0');
    const result = run({ TEMPORAL_CLI_PATH: cli, PATH: path.join(tmp, 'tools') });
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`${cli}\n`);
    expect(result.stderr).toBe('');
    expect(result.elapsedMs).toBeLessThan(2_000);
  });

  test('falls back to temporal on PATH when TEMPORAL_CLI_PATH is not executable', () => {
    const onPath = writeExecutable(path.join(tmp, 'bin', 'temporal'), 'exit 0');
    const result = run({
      TEMPORAL_CLI_PATH: path.join(tmp, 'missing'),
      PATH: `${path.join(tmp, 'bin')}:${path.join(tmp, 'tools')}`,
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`${onPath}\n`);
    expect(result.stderr).toContain('TEMPORAL_CLI_PATH');
  });

  test('uses an already installed GOPATH binary without running go install', () => {
    const gopath = path.join(tmp, 'gopath');
    const installed = writeExecutable(path.join(gopath, 'bin', 'temporal'), 'exit 0');
    fakeGo(path.join(tmp, 'gobin'), gopath);
    const result = run({ PATH: `${path.join(tmp, 'gobin')}:${path.join(tmp, 'tools')}` });
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`${installed}\n`);
    expect(fs.existsSync(path.join(tmp, 'go-install.log'))).toBe(false);
  });

  test('go installs the pinned CLI v1.5.1 when nothing is found, keeping stdout to the path', () => {
    const gopath = path.join(tmp, 'gopath');
    fs.mkdirSync(path.join(gopath, 'bin'), { recursive: true });
    fakeGo(path.join(tmp, 'gobin'), gopath);
    const result = run({ PATH: `${path.join(tmp, 'gobin')}:${path.join(tmp, 'tools')}` });
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`${path.join(gopath, 'bin', 'temporal')}\n`);
    expect(result.stderr).toContain('v1.5.1');
    expect(fs.readFileSync(path.join(tmp, 'go-install.log'), 'utf8').trim()).toBe(
      'GOFLAGS=-buildvcs=false install github.com/temporalio/cli/cmd/temporal@v1.5.1',
    );
  });

  test('without go or temporal it fails and says how to install the CLI', () => {
    const result = run({ PATH: path.join(tmp, 'tools') });
    expect(result.status).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('go install github.com/temporalio/cli/cmd/temporal@v1.5.1');
    expect(result.stderr).toContain('https://github.com/temporalio/cli/releases');
    expect(result.stderr).toContain('TEMPORAL_CLI_PATH');
  });
});
