import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { startApi, type RunningApi } from '../../src/api/server';
import { loadConfig } from '../../src/config';
import { createClaimCheck, type ClaimCheck } from '../../src/infra/temporal/claim-check';
import { createPool } from '../../src/infra/db/pool';
import { createLogger } from '../../src/infra/observability/logger';
import { freePort, waitFor } from '../helpers/net';
import { childrenOf, ended } from '../helpers/processes';
import { postJson, uniqueSuffix } from '../helpers/stack';

const root = path.join(__dirname, '..', '..');
const EventType = temporal.api.enums.v1.EventType;

/** A built entry point (scripts/test.sh builds before jest) run as its own process, its JSON log lines kept. */
class NodeProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  private output = '';

  constructor(entry: string, env: Record<string, string>) {
    const file = path.join(root, 'dist', entry);
    if (!existsSync(file)) throw new Error(`${file} is missing: run npm run build`);
    this.child = spawn(process.execPath, [file], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The first JSON log line whose message is `message`. */
  logLine(message: string): Record<string, unknown> | undefined {
    for (const line of this.output.split('\n')) {
      if (!line.startsWith('{')) continue;
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (parsed.message === message) return parsed;
    }
    return undefined;
  }

  async waitForLog(message: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    await waitFor(
      async () => {
        if (this.child.exitCode !== null)
          throw new Error(`process exited early (${this.child.exitCode}):\n${this.output}`);
        return this.logLine(message) !== undefined;
      },
      timeoutMs,
      `log line "${message}"`,
    );
    return this.logLine(message)!;
  }

  stop(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** Live children of `pid` running python/sandbox_server.py (the worker's sandbox fork server). */
function sandboxServers(pid: number): number[] {
  return childrenOf(pid).filter((child) => {
    try {
      return readFileSync(`/proc/${child}/cmdline`, 'utf8').includes('sandbox_server.py');
    } catch {
      return false;
    }
  });
}

function isolatedEnv(name: string): { env: Record<string, string>; schema: string; dataDir: string } {
  const id = `${name}_${uniqueSuffix()}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `poet-${name}-`));
  const schema = `t_${id}`;
  return {
    dataDir,
    schema,
    env: {
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      DATABASE_SCHEMA: schema,
      REDIS_PREFIX: `test:${id}:`,
      TEMPORAL_TASK_QUEUE: `poet-test-${id}`,
      DATA_DIR: dataDir,
      DATABASE_POOL_MAX: '3',
      // About draining, not credentials.
      AUTH_MODE: 'disabled',
      // Each worker process serves health and metrics; several on one machine need their own ports.
      WORKER_HTTP_PORT: '0',
    },
  };
}

async function dropSchema(schema: string): Promise<void> {
  const pool = createPool({ url: process.env.DATABASE_URL!, schema, max: 1 });
  await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await pool.end();
}

describe('SIGTERM drains a worker process', () => {
  const { env, schema, dataDir } = isolatedEnv('drain_worker');
  const workers: NodeProcess[] = [];
  let api: RunningApi;
  let connection: Connection;
  let client: Client;
  let claimCheck: ClaimCheck;

  beforeAll(async () => {
    // Two worker processes on one task queue, as two replicas of the worker Deployment would be.
    const workerEnv = { ...env, WORKER_SHUTDOWN_GRACE_SECONDS: '30', SANDBOX_FORK_SERVER: 'true' };
    workers.push(new NodeProcess('worker/main.js', workerEnv), new NodeProcess('worker/main.js', workerEnv));
    await Promise.all(workers.map((w) => w.waitForLog('worker started')));
    const config = loadConfig({ ...process.env, ...env, HOST: '127.0.0.1', PORT: '0' });
    api = await startApi(config, createLogger({ level: 'error', service: 'test-drain-api', silent: true }));
    connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
    claimCheck = createClaimCheck(config, 'test');
    client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: claimCheck.dataConverter });
  }, 90_000);

  afterAll(async () => {
    for (const w of workers) w.stop();
    await api?.close();
    await connection?.close();
    await claimCheck?.close();
    await dropSchema(schema);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('the in-flight activity finishes on the drained worker, the run completes on the other, the drained one exits 0', async () => {
    // Validation runs the original and the enhanced function on the sample: each call sleeps, so the validate
    // activity is in flight long enough to find the worker that holds it.
    const name = `slow_echo_${uniqueSuffix()}`;
    const started = await postJson(
      `${api.url}/api/v1/functions/enhance`,
      {
        function_name: name,
        original_code: `import time\n\n\ndef ${name}(seconds: float) -> float:\n    time.sleep(seconds)\n    return seconds\n`,
        context: { samples: [[1.5]] },
      },
      { prefer: 'respond-async' },
    );
    expect(started.status).toBe(202);
    const handle = client.workflow.getHandle(started.body.run.workflow_id as string);

    let holder: NodeProcess | undefined;
    await waitFor(
      async () => {
        const { raw } = await handle.describe();
        const validate = (raw.pendingActivities ?? []).find(
          (a) =>
            a.activityType?.name === 'validate' &&
            a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
        );
        holder = workers.find((w) => validate?.lastWorkerIdentity?.startsWith(`${w.pid}@`));
        return holder !== undefined;
      },
      30_000,
      'validate activity started on one of the workers',
      50,
    );
    const drained = holder!;
    const other = workers.find((w) => w !== drained)!;
    // The validation runs in a child of the worker's fork server, which the worker's shutdown stops.
    await waitFor(
      async () => sandboxServers(drained.pid).length > 0,
      5_000,
      "the drained worker's sandbox fork server started",
    );
    const servers = sandboxServers(drained.pid);
    expect(servers).toHaveLength(1);

    drained.child.kill('SIGTERM');
    expect(await drained.exited).toBe(0);
    await waitFor(async () => servers.every(ended), 5_000, "the drained worker's sandbox fork server gone");
    expect(drained.logLine('worker draining')).toMatchObject({ signal: 'SIGTERM', grace_seconds: 30 });
    expect(drained.logLine('worker stopped')).toBeDefined();

    const result = await handle.result();
    expect(result).toMatchObject({ function_name: name, version: 1 });
    // Validated without a finding; generated inputs that sleep long run out the evidence budget, so not 'high'.
    expect(result.metadata.safety_level).toBe('medium');

    const events = (await handle.fetchHistory()).events ?? [];
    // The activity the drained worker held was not lost or retried: it completed there, within the grace period.
    const validateScheduled = events.find(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'validate',
    )?.eventId;
    const validateCompleted = events.filter(
      (e) =>
        e.activityTaskCompletedEventAttributes &&
        String(e.activityTaskCompletedEventAttributes.scheduledEventId) === String(validateScheduled),
    );
    expect(validateCompleted.map((e) => e.activityTaskCompletedEventAttributes?.identity)).toEqual([
      expect.stringMatching(new RegExp(`^${drained.pid}@`)),
    ]);
    // The workflow went on, to completion, on the worker that kept running.
    const lastWorkflowTask = events.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED).at(-1);
    expect(lastWorkflowTask?.workflowTaskCompletedEventAttributes?.identity).toMatch(new RegExp(`^${other.pid}@`));
    expect(other.child.exitCode).toBeNull();
  }, 90_000);
});

describe('SIGTERM drains an API process', () => {
  const { env, dataDir } = isolatedEnv('drain_api');
  let apiProcess: NodeProcess;
  let connection: Connection;
  let client: Client;

  beforeAll(async () => {
    connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
    client = new Client({ connection });
  });

  afterAll(async () => {
    apiProcess?.stop();
    await connection?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('a caller waiting on a run gets 202 and the run URL, and the process exits 0', async () => {
    // No worker polls this task queue, so the run stays open and the caller would wait the whole budget.
    const port = await freePort();
    apiProcess = new NodeProcess('api/main.js', {
      ...env,
      HOST: '127.0.0.1',
      PORT: String(port),
      API_SHUTDOWN_GRACE_SECONDS: '30',
    });
    await apiProcess.waitForLog('api listening');

    const name = `waiting_${uniqueSuffix()}`;
    const waiting = postJson(`http://127.0.0.1:${port}/api/v1/functions/enhance?wait=100`, {
      function_name: name,
      original_code: `def ${name}(x: int) -> int:\n    return x\n`,
    });
    // The run exists once the API has taken the request in and started it; the caller is then waiting on it.
    await waitFor(
      async () => {
        const runs = client.workflow.list({ query: `FunctionName = "${name}"` });
        for await (const _ of runs) return true;
        return false;
      },
      30_000,
      'the run started by the waiting request',
    );

    apiProcess.child.kill('SIGTERM');
    const res = await waiting;
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe(`/api/v1/runs/${encodeURIComponent(res.body.run.workflow_id)}`);
    expect(res.body).toMatchObject({ status: 'running' });
    expect(await apiProcess.exited).toBe(0);
    expect(apiProcess.logLine('api draining')).toMatchObject({ signal: 'SIGTERM' });
    await client.workflow.getHandle(res.body.run.workflow_id).terminate('test over');
  }, 60_000);
});
