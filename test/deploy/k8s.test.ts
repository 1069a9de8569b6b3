import { spawnSync } from 'node:child_process';
import { heapOptions, WORKER_MALLOC_ARENA_MAX } from '../../src/cli/dev-stack';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { loadConfig } from '../../src/config';
import { schemaFileName, writeCrdSchemas, writeKubernetesSchemas } from '../helpers/k8s-schemas';

const root = path.resolve(__dirname, '../..');
const OVERLAYS = ['dev', 'prod'] as const;

/** Set by scripts/test.sh from scripts/install-k8s-tools.sh. */
function tool(
  name: 'KUBECONFORM_PATH' | 'KUSTOMIZE_PATH' | 'K8S_OPENAPI_PATH' | 'KEDA_CRD_DIR' | 'K8S_VERSION',
): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is unset: run the suite with npm test, which runs scripts/install-k8s-tools.sh`);
  return value;
}

type Resource = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
};

function kustomizeBuild(overlay: string): { text: string; resources: Resource[] } {
  const result = spawnSync(tool('KUSTOMIZE_PATH'), ['build', path.join(root, 'deploy/k8s/overlays', overlay)], {
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`kustomize build ${overlay} failed:\n${result.stderr}`);
  const docs = parseAllDocuments(result.stdout);
  for (const doc of docs) expect(doc.errors).toEqual([]);
  return { text: result.stdout, resources: docs.map((doc) => doc.toJS() as Resource) };
}

let schemaDir: string;

function kubeconform(manifests: string) {
  const result = spawnSync(
    tool('KUBECONFORM_PATH'),
    [
      '-strict',
      '-summary',
      '-output',
      'json',
      '-kubernetes-version',
      tool('K8S_VERSION'),
      '-schema-location',
      `${schemaDir}/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
      '-',
    ],
    { input: manifests, encoding: 'utf8' },
  );
  const report = JSON.parse(result.stdout) as {
    resources: { kind: string; name: string; status: string; msg: string }[];
    summary: { valid: number; invalid: number; errors: number; skipped: number };
  };
  return { status: result.status, ...report };
}

beforeAll(() => {
  schemaDir = mkdtempSync(path.join(os.tmpdir(), 'poet-k8s-schemas-'));
  expect(writeKubernetesSchemas(tool('K8S_OPENAPI_PATH'), schemaDir)).toBeGreaterThan(100);
  expect(writeCrdSchemas(tool('KEDA_CRD_DIR'), schemaDir)).toContain(
    schemaFileName('ScaledObject', 'keda.sh', 'v1alpha1'),
  );
});

afterAll(() => {
  rmSync(schemaDir, { recursive: true, force: true });
});

describe.each(OVERLAYS)('deploy/k8s/overlays/%s', (overlay) => {
  const { text, resources } = kustomizeBuild(overlay);
  const find = (kind: string, name: string): Resource => {
    const found = resources.find(
      (r) => r.kind === kind && (r.metadata.name === name || r.metadata.name.startsWith(`${name}-`)),
    );
    if (!found) throw new Error(`${kind} ${name} missing from the ${overlay} overlay`);
    return found;
  };
  const container = (deployment: string) => find('Deployment', deployment).spec.template.spec.containers[0];
  const config = () => find('ConfigMap', 'poet-config').data ?? {};
  /**
   * The ConfigMap with its *_FILE settings pointed at a copy of the Secret's data: dev's generated one, or for prod
   * (made outside git) values of the same shape.
   */
  const secretDirs: string[] = [];
  afterAll(() => {
    for (const dir of secretDirs) rmSync(dir, { recursive: true, force: true });
  });
  const configWithSecrets = (): Record<string, string> => {
    const secret = resources.find((r) => r.kind === 'Secret')?.data as Record<string, string> | undefined;
    const values: Record<string, string> = secret
      ? Object.fromEntries(Object.entries(secret).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]))
      : {
          DATABASE_URL: 'postgres://poet@postgres:5432/poet',
          REDIS_URL: 'redis://redis:6379',
          ENCRYPTION_KEYS: `prod-1:${Buffer.alloc(32, 1).toString('base64')}`,
        };
    const dir = mkdtempSync(path.join(os.tmpdir(), 'poet-k8s-secrets-'));
    secretDirs.push(dir);
    const rendered: Record<string, string> = { ...config() };
    for (const [name, file] of Object.entries(rendered)) {
      if (!name.endsWith('_FILE')) continue;
      const copy = path.join(dir, path.basename(file));
      writeFileSync(copy, values[path.basename(file)] ?? '');
      rendered[name] = copy;
    }
    return rendered;
  };

  test('every rendered resource is valid against the Kubernetes 1.33 and KEDA schemas (kubeconform -strict)', () => {
    const report = kubeconform(text);
    expect(report.resources.filter((r) => r.status !== 'statusValid')).toEqual([]);
    expect(report.summary).toEqual({ valid: resources.length, invalid: 0, errors: 0, skipped: 0 });
    expect(report.status).toBe(0);
  });

  test('holds the whole deployment, in one namespace', () => {
    // Generated ConfigMaps and Secrets carry a content hash in their names.
    const unhashed = (r: Resource) =>
      r.kind === 'ConfigMap' || r.kind === 'Secret' ? r.metadata.name.replace(/-[a-z0-9]{10}$/, '') : r.metadata.name;
    const kinds = resources.map((r) => `${r.kind}/${unhashed(r)}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'ConfigMap/poet-config',
        'Deployment/poet-api',
        'Deployment/poet-worker',
        'HorizontalPodAutoscaler/poet-api',
        'Job/poet-migrate',
        'Job/poet-search-attributes',
        'PersistentVolumeClaim/poet-artifacts',
        'NetworkPolicy/poet-api-ingress',
        'NetworkPolicy/poet-default-deny',
        'NetworkPolicy/poet-egress',
        'NetworkPolicy/poet-worker-ingress',
        'PodDisruptionBudget/poet-api',
        'PodDisruptionBudget/poet-worker',
        'ScaledObject/poet-worker',
        'Service/poet-api',
        'ServiceAccount/poet',
      ]),
    );
    expect(new Set(resources.map((r) => r.metadata.namespace))).toEqual(
      new Set([overlay === 'prod' ? 'poet' : 'poet-dev']),
    );
  });

  test("API and worker: the V8 heap limit of `poet start`, under the container's memory limit, and the worker's malloc arenas", () => {
    const defaults = loadConfig({});
    const mib = (quantity: string) =>
      Number(/^(\d+)(Mi|Gi)$/.exec(quantity)![1]) * (quantity.endsWith('Gi') ? 1024 : 1);
    for (const [name, heapMb] of [
      ['poet-api', defaults.API_MAX_HEAP_MB],
      ['poet-worker', defaults.WORKER_MAX_HEAP_MB],
    ] as const) {
      const c = container(name);
      expect(c.env).toContainEqual({ name: 'NODE_OPTIONS', value: heapOptions(heapMb) });
      expect(heapMb).toBeLessThan(mib(c.resources.limits.memory));
    }
    expect(container('poet-worker').env).toContainEqual({ name: 'MALLOC_ARENA_MAX', value: WORKER_MALLOC_ARENA_MAX });
  });

  test('API: probes on /health/live and /health/ready, 512Mi requested, 2Gi limit, config and secret from references', () => {
    const api = container('poet-api');
    expect(api.livenessProbe.httpGet.path).toBe('/health/live');
    expect(api.readinessProbe.httpGet.path).toBe('/health/ready');
    expect(api.resources.requests.memory).toBe('512Mi');
    expect(api.resources.limits.memory).toBe('2Gi');
    // Secrets are not in the environment: the *_FILE settings name files of the mounted Secret.
    expect(api.envFrom).toEqual([{ configMapRef: { name: find('ConfigMap', 'poet-config').metadata.name } }]);
    expect(api.command).toEqual(['node', 'dist/api/main.js']);
  });

  test('API and worker: probes, the Prometheus scrape annotations and the ingress policy name the port each process listens on', () => {
    const rendered = loadConfig(configWithSecrets());
    const ports = { 'poet-api': rendered.PORT, 'poet-worker': rendered.WORKER_HTTP_PORT };
    for (const [name, port] of Object.entries(ports)) {
      const pod = find('Deployment', name).spec.template;
      const c = pod.spec.containers[0];
      expect(c.ports).toEqual([{ name: 'http', containerPort: port, protocol: 'TCP' }]);
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'])
        expect(c[probe].httpGet.port).toBe('http');
      expect(c.livenessProbe.httpGet.path).toBe('/health/live');
      expect(c.readinessProbe.httpGet.path).toBe('/health/ready');
      expect(pod.metadata.annotations).toMatchObject({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(port),
        'prometheus.io/path': '/metrics',
      });
      const policy = find('NetworkPolicy', `${name}-ingress`).spec;
      expect(policy.podSelector.matchLabels['app.kubernetes.io/name']).toBe(name);
      expect(policy.ingress.flatMap((rule: { ports: { port: number }[] }) => rule.ports.map((p) => p.port))).toEqual([
        port,
      ]);
    }
  });

  test('every pod reads the secrets as files of the Secret (prod: made outside git; dev: generated), and they parse', () => {
    const secretName = resources.find((r) => r.kind === 'Secret')?.metadata.name ?? 'poet-secrets';
    const files = Object.entries(config()).filter(([name]) => name.endsWith('_FILE'));
    expect(files.map(([name]) => name).sort()).toEqual(['DATABASE_URL_FILE', 'ENCRYPTION_KEYS_FILE', 'REDIS_URL_FILE']);
    for (const r of resources.filter((r) => r.kind === 'Deployment' || r.kind === 'Job')) {
      const pod = r.spec.template.spec;
      const volume = pod.volumes.find((v: { secret?: { secretName: string } }) => v.secret);
      expect({ name: r.metadata.name, secret: volume?.secret }).toEqual({
        name: r.metadata.name,
        secret: { secretName, defaultMode: 0o440 },
      });
      expect(pod.securityContext.fsGroup).toBe(1000);
      const mount = pod.containers[0].volumeMounts.find((m: { name: string }) => m.name === volume.name);
      expect(mount.readOnly).toBe(true);
      expect(pod.containers[0].envFrom.some((e: object) => 'secretRef' in e)).toBe(false);
      for (const [, file] of files) expect(path.dirname(String(file))).toBe(mount.mountPath);
    }
    const loaded = loadConfig(configWithSecrets());
    expect(loaded.DATABASE_URL).toMatch(/^postgres:\/\//);
    expect(loaded.encryption?.keys.size).toBeGreaterThan(0);
  });

  test('API and worker run versioned in one worker deployment (Worker Versioning)', () => {
    expect(config().TEMPORAL_DEPLOYMENT_NAME).toBe('poet');
    for (const name of ['poet-api', 'poet-worker'])
      expect(container(name).envFrom).toEqual([
        { configMapRef: { name: find('ConfigMap', 'poet-config').metadata.name } },
      ]);
    expect(loadConfig(configWithSecrets()).TEMPORAL_DEPLOYMENT_NAME).toBe('poet');
  });

  test('images are pinned by tag', () => {
    const images = resources
      .filter((r) => r.kind === 'Deployment' || r.kind === 'Job')
      .flatMap((r) => r.spec.template.spec.containers.map((c: { image: string }) => c.image));
    for (const image of images) expect(image).toMatch(/:[A-Za-z0-9_][A-Za-z0-9_.-]*$/);
    expect(images.join(' ')).not.toMatch(/:latest\b/);
  });

  test('pods run as non-root with a read-only root filesystem and a writable /tmp', () => {
    for (const r of resources.filter((x) => x.kind === 'Deployment' || x.kind === 'Job')) {
      const pod = r.spec.template.spec;
      expect({ name: r.metadata.name, runAsNonRoot: pod.securityContext.runAsNonRoot }).toEqual({
        name: r.metadata.name,
        runAsNonRoot: true,
      });
      for (const c of pod.containers)
        expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    }
    for (const name of ['poet-api', 'poet-worker']) {
      expect(container(name).volumeMounts.map((m: { mountPath: string }) => m.mountPath)).toEqual(
        expect.arrayContaining(['/tmp', '/app/data']),
      );
    }
  });

  test('the worker runs validations isolated, as non-root and unprivileged, under the Localhost seccomp profile deploy/ ships', () => {
    const pod = find('Deployment', 'poet-worker').spec.template.spec;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'Localhost' },
      appArmorProfile: { type: 'Unconfined' },
    });
    expect(container('poet-worker').securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(container('poet-worker').securityContext.privileged).toBeUndefined();
    const profileFile = path.join(
      root,
      'deploy/seccomp',
      path.basename(pod.securityContext.seccompProfile.localhostProfile),
    );
    const profile = JSON.parse(readFileSync(profileFile, 'utf8')) as {
      defaultAction: string;
      syscalls: { names: string[]; action: string }[];
    };
    const denied = new Set(
      profile.syscalls.filter((rule) => rule.action === 'SCMP_ACT_ERRNO').flatMap((rule) => rule.names),
    );
    // What python/isolation.py needs to build a validation's namespaces is allowed; what an escape needs is not.
    expect(profile.defaultAction).toBe('SCMP_ACT_ALLOW');
    for (const needed of ['unshare', 'clone', 'mount', 'umount2', 'pivot_root', 'sethostname'])
      expect(denied.has(needed)).toBe(false);
    for (const escapeCall of [
      'bpf',
      'ptrace',
      'keyctl',
      'setns',
      'kexec_load',
      'init_module',
      'open_by_handle_at',
      'userfaultfd',
      'io_uring_setup',
    ])
      expect(denied.has(escapeCall)).toBe(true);
  });

  test('API autoscales on CPU and on poet_active_enhancements per pod; its budget keeps pods up during drains', () => {
    const hpa = find('HorizontalPodAutoscaler', 'poet-api');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'poet-api' });
    expect(hpa.spec.metrics).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'Resource', resource: expect.objectContaining({ name: 'cpu' }) }),
        expect.objectContaining({
          type: 'Pods',
          pods: expect.objectContaining({ metric: { name: 'poet_active_enhancements' } }),
        }),
      ]),
    );
    const deployment = find('Deployment', 'poet-api');
    expect(hpa.spec.minReplicas).toBe(deployment.spec.replicas);
    const selects = (selector: { matchLabels: Record<string, string> }, labels: Record<string, string>) =>
      Object.entries(selector.matchLabels).every(([k, v]) => labels[k] === v);
    for (const name of ['poet-api', 'poet-worker']) {
      expect(
        selects(
          find('PodDisruptionBudget', name).spec.selector,
          find('Deployment', name).spec.template.metadata.labels,
        ),
      ).toBe(true);
    }
    const pdb = find('PodDisruptionBudget', 'poet-api').spec;
    // A budget that allows no disruption at the minimum replica count would block every node drain.
    if (pdb.minAvailable !== undefined) expect(pdb.minAvailable).toBeLessThan(hpa.spec.minReplicas);
  });

  test('workers scale on the backlog of the task queue and the Temporal namespace the config names', () => {
    const scaled = find('ScaledObject', 'poet-worker');
    expect(scaled.spec.scaleTargetRef.name).toBe('poet-worker');
    const [trigger] = scaled.spec.triggers;
    expect(trigger.type).toBe('temporal');
    expect(trigger.metadata).toMatchObject({
      endpointFromEnv: 'TEMPORAL_ADDRESS',
      namespace: config().TEMPORAL_NAMESPACE,
      taskQueue: config().TEMPORAL_TASK_QUEUE,
    });
    expect(container('poet-worker').command).toEqual(['node', 'dist/worker/main.js']);
  });

  test('termination grace periods cover the drains the processes are configured for', () => {
    const api = find('Deployment', 'poet-api').spec.template.spec;
    const preStop = Number(api.containers[0].lifecycle.preStop.exec.command.at(-1));
    expect(api.terminationGracePeriodSeconds).toBeGreaterThan(preStop + Number(config().API_SHUTDOWN_GRACE_SECONDS));
    const worker = find('Deployment', 'poet-worker').spec.template.spec;
    expect(worker.terminationGracePeriodSeconds).toBeGreaterThan(Number(config().WORKER_SHUTDOWN_GRACE_SECONDS));
  });

  test('pre-rollout Jobs run the migrations and register the search attributes with the poet CLI', () => {
    const command = (job: string) => find('Job', job).spec.template.spec.containers[0].command;
    expect(command('poet-migrate')).toEqual(['node', 'dist/cli/main.js', 'migrate']);
    expect(command('poet-search-attributes')).toEqual(['node', 'dist/cli/main.js', 'setup', 'search-attributes']);
    for (const job of ['poet-migrate', 'poet-search-attributes'])
      expect(find('Job', job).metadata.labels?.['poet-service/phase']).toBe('pre-rollout');
  });

  test('network policies deny by default and select the service pods', () => {
    const deny = find('NetworkPolicy', 'poet-default-deny').spec;
    expect(deny.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(deny.ingress).toBeUndefined();
    for (const name of ['poet-api', 'poet-worker']) {
      expect(find('Deployment', name).spec.template.metadata.labels['app.kubernetes.io/part-of']).toBe(
        deny.podSelector.matchLabels['app.kubernetes.io/part-of'],
      );
    }
    const ingress = find('NetworkPolicy', 'poet-api-ingress').spec;
    expect(ingress.ingress.flatMap((rule: { ports: { port: number }[] }) => rule.ports.map((p) => p.port))).toEqual([
      8080,
    ]);
  });
});

describe('deploy/k8s/rollout.sh and the metrics adapter values', () => {
  const script = readFileSync(path.join(root, 'deploy/k8s/rollout.sh'), 'utf8');
  const { resources } = kustomizeBuild('prod');

  test('is valid bash', () => {
    expect(spawnSync('bash', ['-n', path.join(root, 'deploy/k8s/rollout.sh')]).status).toBe(0);
  });

  test('applies config and the Jobs before the Deployments, and waits on exactly the pre-rollout Jobs', () => {
    const [, key, values] = /--selector '([\w./-]+) notin \(([\w,]+)\)'/.exec(script) ?? [];
    const firstPass = resources.filter((r) => !values!.split(',').includes(r.metadata.labels?.[key!] ?? ''));
    const names = (list: Resource[]) => list.map((r) => `${r.kind}/${r.metadata.name}`);
    expect(names(firstPass.filter((r) => r.kind === 'Deployment'))).toEqual([]);
    for (const kind of ['ConfigMap', 'Job', 'ServiceAccount', 'PersistentVolumeClaim']) {
      expect(names(firstPass.filter((r) => r.kind === kind))).toEqual(names(resources.filter((r) => r.kind === kind)));
    }
    const [, label] = /wait .*--selector ([\w./-]+=[\w-]+)/.exec(script) ?? [];
    const [labelKey, labelValue] = label!.split('=');
    expect(names(resources.filter((r) => r.metadata.labels?.[labelKey!] === labelValue))).toEqual([
      'Job/poet-migrate',
      'Job/poet-search-attributes',
    ]);
  });

  test("makes the worker's build current after the workers rolled out", () => {
    const lines = script.split('\n').filter((line) => !line.trimStart().startsWith('#'));
    const rolledOut = lines.findIndex((line) => line.includes('kubectl rollout status'));
    const current = lines.findIndex((line) =>
      /kubectl exec --namespace "\$namespace" deployment\/poet-worker -- node dist\/cli\/main\.js workers make-current/.test(
        line,
      ),
    );
    expect(rolledOut).toBeGreaterThan(-1);
    expect(current).toBeGreaterThan(rolledOut);
  });

  test('the adapter serves the per-pod metric the API autoscaler asks for', () => {
    const values = parse(readFileSync(path.join(root, 'deploy/k8s/prometheus-adapter-values.yaml'), 'utf8'));
    const hpaMetric = resources
      .find((r) => r.kind === 'HorizontalPodAutoscaler')!
      .spec.metrics.find((m: { type: string }) => m.type === 'Pods').pods.metric.name;
    const rule = values.rules.custom.find((r: { name: { as: string } }) => r.name.as === hpaMetric);
    expect(rule.seriesQuery).toContain(hpaMetric);
    expect(rule.resources.overrides.pod).toEqual({ resource: 'pod' });
  });
});

describe('the autoscaling bounds follow docs/scaling.md', () => {
  const doc = readFileSync(path.join(root, 'docs/scaling.md'), 'utf8');
  /** The cells of the first table row of the doc whose first cell is `first`. */
  const row = (first: string): string[] => {
    const line = doc.split('\n').find((l) => l.startsWith(`| ${first} |`));
    if (!line) throw new Error(`docs/scaling.md has no table row "${first}"`);
    return line
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim());
  };
  const msPerEnhancement = (part: string) => Number(row(part).at(-1)!.replace(/\*/g, ''));
  const environments = { dev: '10/s', base: '300/s', prod: '1,000/s' } as const;
  const manifests = (environment: keyof typeof environments): Resource[] =>
    environment === 'base'
      ? ['api.yaml', 'worker.yaml'].flatMap((file) =>
          parseAllDocuments(readFileSync(path.join(root, 'deploy/k8s/base', file), 'utf8')).map(
            (d) => d.toJS() as Resource,
          ),
        )
      : kustomizeBuild(environment).resources;
  const bounds = (resources: Resource[]) => {
    const get = (kind: string, name: string) => resources.find((r) => r.kind === kind && r.metadata.name === name)!;
    const hpa = get('HorizontalPodAutoscaler', 'poet-api').spec;
    const scaled = get('ScaledObject', 'poet-worker').spec;
    const cores = (deployment: string) => {
      const cpu: string = get('Deployment', deployment).spec.template.spec.containers[0].resources.requests.cpu;
      return cpu.endsWith('m') ? Number(cpu.slice(0, -1)) / 1000 : Number(cpu);
    };
    const apiTarget = hpa.metrics.find((m: { type: string }) => m.type === 'Resource').resource.target;
    const workerTarget = scaled.triggers.find((t: { type: string }) => t.type === 'cpu').metadata.value;
    return {
      api: {
        min: hpa.minReplicas,
        max: hpa.maxReplicas,
        busyPerPod: (cores('poet-api') * apiTarget.averageUtilization) / 100,
      },
      worker: {
        min: scaled.minReplicaCount,
        max: scaled.maxReplicaCount,
        busyPerPod: (cores('poet-worker') * Number(workerTarget)) / 100,
      },
    };
  };
  const resources = Object.fromEntries(
    (Object.keys(environments) as (keyof typeof environments)[]).map((e) => [e, manifests(e)]),
  ) as Record<keyof typeof environments, Resource[]>;
  const built = Object.fromEntries(Object.entries(resources).map(([e, r]) => [e, bounds(r)])) as Record<
    keyof typeof environments,
    ReturnType<typeof bounds>
  >;
  /** API and worker pods the doc's pods table gives as needed at `rate`. */
  const podsNeeded = (rate: string): number[] =>
    row(rate)
      .slice(1, 3)
      .map((cell) => Number(/→ (\d+)/.exec(cell)![1]));

  test("the pods table follows from the CPU per enhancement and the base's requests and targets", () => {
    const ms = { api: msPerEnhancement('API'), worker: msPerEnhancement('workers (python3 included)') };
    expect(ms.api).toBeGreaterThan(0);
    expect(ms.worker).toBeGreaterThan(0);
    for (const rate of ['10/s', '100/s', '300/s', '1,000/s']) {
      const perSecond = Number(rate.replace(/[,/s]/g, ''));
      const inDoc = podsNeeded(rate);
      const computed = (['api', 'worker'] as const).map((part) =>
        Math.ceil((perSecond * ms[part]) / 1000 / built.base[part].busyPerPod - 1e-9),
      );
      expect({ rate, pods: inDoc }).toEqual({ rate, pods: computed });
    }
  });

  test.each(Object.keys(environments) as (keyof typeof environments)[])(
    '%s: the bounds are those the doc gives, about 20% above the pods needed at the rate it is sized for',
    (environment) => {
      const rate = environments[environment];
      const needed = podsNeeded(rate);
      const { api, worker } = built[environment];
      expect(api.max).toBeGreaterThanOrEqual(Math.ceil(needed[0]! * 1.2));
      expect(worker.max).toBeGreaterThanOrEqual(Math.ceil(needed[1]! * 1.2));
      const label = environment === 'base' ? 'base' : `${environment} overlay`;
      const [, sizedFor, apiBounds, workerBounds] = row(label);
      expect(sizedFor).toBe(rate);
      expect(apiBounds).toBe(`${needed[0]} → ${api.min}–${api.max}`);
      expect(workerBounds).toBe(`${needed[1]} → ${worker.min}–${worker.max}`);
    },
  );

  test("prod's connections at its maximums are the doc's: (API + worker pods) × (pool + the claim check's 4) + 2 Jobs × pool", () => {
    const { api, worker } = built.prod;
    const pool = Number(resources.prod.find((r) => r.kind === 'ConfigMap')!.data!.DATABASE_POOL_MAX);
    const total = (api.max + worker.max) * (pool + 4) + 2 * pool;
    const [, apiPods, workerPods, inDoc] =
      /prod at its maximums \((\d+) API \+ (\d+) worker pods\).*= \*\*([\d,]+) connections\*\*/.exec(doc) ?? [];
    expect([Number(apiPods), Number(workerPods), Number(inDoc?.replace(',', ''))]).toEqual([
      api.max,
      worker.max,
      total,
    ]);
  });
});

describe('the schema check rejects what a cluster would', () => {
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'broken' },
    spec: {
      replicas: 'three',
      selector: { matchLabels: { app: 'broken' } },
      template: {
        metadata: { labels: { app: 'broken' } },
        spec: { containers: [{ name: 'c', image: 'x:1', imagePullPolicy: 'IfNotPresent', resourcez: {} }] },
      },
    },
  };

  test('a wrong type and an unknown field fail', () => {
    const report = kubeconform(stringify(deployment));
    expect(report.status).not.toBe(0);
    expect(report.summary.invalid).toBe(1);
    const [message] = report.resources.map((r) => r.msg);
    expect(message).toMatch(/replicas/);
    expect(message).toMatch(/resourcez/);
  });

  test('a kind without a schema is an error, not a silent skip', () => {
    const report = kubeconform(stringify({ apiVersion: 'example.com/v1', kind: 'Unknown', metadata: { name: 'x' } }));
    expect(report.status).not.toBe(0);
    expect(report.summary.errors).toBe(1);
  });
});
