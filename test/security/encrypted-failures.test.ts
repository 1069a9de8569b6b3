import { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { startApi, type RunningApi } from '../../src/api/server';
import { newKeyEntry, parseKeyRing } from '../../src/infra/crypto/key-ring';
import { ENCRYPTED_ENCODING } from '../../src/infra/temporal/encryption-codec';
import { createLogger } from '../../src/infra/observability/logger';
import { getJson, postJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';

/** Failures leave the process encrypted, and data under a key the worker lacks fails the run, not the task. */
const KEY_A = newKeyEntry('a');
const KEY_B = newKeyEntry('b');
let stack: TestStack;

beforeAll(async () => {
  stack = await startStack('enc_failures', { ENCRYPTION_KEYS: KEY_A });
});
afterAll(() => stack.close());

const rawHistory = (workflowId: string) =>
  new Client({ connection: stack.client.connection, namespace: stack.config.TEMPORAL_NAMESPACE }).workflow
    .getHandle(workflowId)
    .fetchHistory();

/** Every failure in the history, causes included. */
function failuresOf(history: temporal.api.history.v1.IHistory): temporal.api.failure.v1.IFailure[] {
  const found: temporal.api.failure.v1.IFailure[] = [];
  const walk = (f: temporal.api.failure.v1.IFailure | null | undefined) => {
    for (; f; f = f.cause) found.push(f);
  };
  for (const e of history.events ?? []) {
    walk(e.workflowExecutionFailedEventAttributes?.failure);
    walk(e.activityTaskFailedEventAttributes?.failure);
  }
  return found;
}

test('a failure quoting the submitted code is ciphertext in the history, plaintext through the API and the codec endpoint', async () => {
  const marker = `MARKER_${uniqueSuffix()}`;
  const name = `quoted_${uniqueSuffix()}`;
  // Importing the enhanced module raises: the validation failure quotes the message, marker included.
  const code = `raise RuntimeError("${marker}")\n\ndef ${name}(x: int) -> int:\n    return x\n`;
  const res = await postJson(`${stack.url}/api/v1/functions/enhance`, { function_name: name, original_code: code });
  expect(res.status).toBe(422);
  expect(res.body.error).toMatchObject({ code: 'validation_failed' });
  expect(res.body.error.message).toContain(marker);
  const workflowId = res.body.error.run.workflow_id;

  const history = await rawHistory(workflowId);
  const stored = Buffer.from(temporal.api.history.v1.History.encode(history).finish()).toString('latin1');
  expect(stored).not.toContain(marker);
  const failures = failuresOf(history);
  expect(failures.length).toBeGreaterThan(0);
  for (const failure of failures) {
    expect(failure.message).toBe('Encoded failure');
    expect(failure.stackTrace).toBe('');
    expect(Buffer.from(failure.encodedAttributes!.metadata!.encoding!).toString()).toBe(ENCRYPTED_ENCODING);
  }

  const run = await getJson(`${stack.url}/api/v1/runs/${workflowId}`);
  expect(run.body).toMatchObject({ status: 'failed', error: { code: 'validation_failed' } });
  expect(run.body.error.message).toContain(marker);

  // The Temporal UI posts a failure's encoded attributes to the codec endpoint like any payload.
  const payloads = failures.map((f) => ({
    metadata: Object.fromEntries(
      Object.entries(f.encodedAttributes!.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
    data: Buffer.from(f.encodedAttributes!.data!).toString('base64'),
  }));
  const decoded = await postJson(`${stack.url}/api/v1/codec/decode`, { payloads });
  expect(decoded.status).toBe(200);
  const attributes = decoded.body.payloads.map((p: { data: string }) =>
    JSON.parse(Buffer.from(p.data, 'base64').toString()),
  );
  expect(attributes.some((a: { message: string }) => a.message.includes(marker))).toBe(true);
});

describe('a worker without the key of a run', () => {
  let rotated: RunningApi;

  beforeAll(async () => {
    // The API already encrypts with a new key b; this stack's worker has only a.
    const encryption = parseKeyRing(`${KEY_A},${KEY_B}`, 'b');
    rotated = await startApi(
      { ...stack.config, encryption },
      createLogger({ level: 'error', service: 'test-rotated-api', silent: true }),
    );
  });
  afterAll(() => rotated.close());

  test('fails the run with a non-retryable EncryptionKeyUnavailable, and says so on readiness and through the API', async () => {
    const name = `unkeyed_${uniqueSuffix()}`;
    const res = await postJson(`${rotated.url}/api/v1/functions/enhance`, {
      function_name: name,
      original_code: `def ${name}(x: int) -> int:\n    return x\n`,
    });
    expect(res.status).toBe(503);
    expect(res.body.error).toMatchObject({ code: 'encryption_key_unavailable', severity: 'critical' });
    expect(res.body.error.message).toContain('encryption key b');
    const workflowId = res.body.error.run.workflow_id;

    const history = await rawHistory(workflowId);
    const events = history.events ?? [];
    // One workflow task, then the run's end: no task retried over and over, and no activity ran.
    expect(events.filter((e) => e.workflowTaskFailedEventAttributes)).toEqual([]);
    expect(events.filter((e) => e.activityTaskScheduledEventAttributes)).toEqual([]);
    const failed = events.at(-1)?.workflowExecutionFailedEventAttributes;
    expect(failed?.failure?.applicationFailureInfo).toMatchObject({
      type: 'EncryptionKeyUnavailable',
      nonRetryable: true,
    });

    const run = await getJson(`${rotated.url}/api/v1/runs/${workflowId}`);
    expect(run.body).toMatchObject({ status: 'failed', error: { code: 'encryption_key_unavailable' } });
    const ready = await getJson(`${stack.worker.http.url}/health/ready`);
    expect(ready.body.checks.encryption).toMatchObject({ status: 'failing' });
    expect(ready.body.checks.encryption.error).toContain('encryption key b');
  });
});
