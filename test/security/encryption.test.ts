import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { loadConfig } from '../../src/config';
import { EncryptionKeyUnavailable, KeyRing, newKeyEntry, parseKeyRing } from '../../src/infra/crypto/key-ring';
import { CLAIM_CHECK_ENCODING, createClaimCheck } from '../../src/infra/temporal/claim-check';
import { ENCRYPTED_ENCODING, EncryptionCodec, KEY_ID_METADATA } from '../../src/infra/temporal/encryption-codec';
import { FIELD_PREFIX } from '../../src/infra/crypto/field-cipher';
import { poet } from '../helpers/cli';
import { enhanceAndReadRawHistory, largeFunction } from '../helpers/raw-history';
import { filesContaining, rowsContaining } from '../helpers/raw-rows';
import { getJson, postJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';

/** Customers' code never reaches Temporal or the payload store in plaintext (SECURITY.md, encryption). */
const KEY_A = newKeyEntry('a');
let stack: TestStack;

beforeAll(async () => {
  stack = await startStack('encryption', { ENCRYPTION_KEYS: KEY_A, ARTIFACT_ENCRYPTION: 'true' });
});
afterAll(() => stack.close());

const codecOf = (keys: string, active?: string) => new EncryptionCodec(new KeyRing(parseKeyRing(keys, active)));
const asJson = (p: temporal.api.common.v1.IPayload) => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

test('an enhanced function is ciphertext in the Temporal history and the payload store, plaintext through the API', async () => {
  const marker = `MARKER_${uniqueSuffix()}`;
  const submit = async (name: string, doc: string) => {
    const code = `def ${name}(x: int) -> int:\n    """${doc}"""\n    return x * 3\n`;
    const res = await postJson(`${stack.url}/api/v1/functions/enhance`, { function_name: name, original_code: code });
    expect(res.status).toBe(200);
    expect(res.body.enhanced_code.python).toContain(marker);
    return res.body;
  };
  // One run small enough to stay inline, one large enough for the claim check.
  const small = await submit(`small_${uniqueSuffix()}`, marker);
  const large = await submit(`large_${uniqueSuffix()}`, `${marker} ${'explains at length. '.repeat(300)}`);

  const raw = new Client({ connection: stack.client.connection, namespace: stack.config.TEMPORAL_NAMESPACE });
  for (const run of [small, large]) {
    const history = await raw.workflow.getHandle(run.run.workflow_id).fetchHistory();
    const stored = Buffer.from(temporal.api.history.v1.History.encode(history).finish()).toString('latin1');
    expect(stored).not.toContain(marker);
    expect(stored).toContain(ENCRYPTED_ENCODING);
  }
  const rows = await stack.pool.query<{ data: Buffer }>('SELECT data FROM payloads');
  expect(rows.rows.length).toBeGreaterThan(0);
  for (const row of rows.rows) {
    expect(row.data.toString('latin1')).not.toContain(marker);
    const payload = temporal.api.common.v1.Payload.decode(row.data);
    expect(Buffer.from(payload.metadata.encoding!).toString()).toBe(ENCRYPTED_ENCODING);
    expect(Buffer.from(payload.metadata[KEY_ID_METADATA]!).toString()).toBe('a');
  }

  // Through the API and a client with the codec, the code is there as enhanced.
  const result = await stack.client.workflow.getHandle(large.run.workflow_id).result();
  expect(result.enhanced_code.python).toBe(large.enhanced_code.python);

  // A process whose ring has another key under the same id reads neither the inline nor the claimed payloads.
  const wrong = createClaimCheck({ ...stack.config, encryption: parseKeyRing(newKeyEntry('a'), undefined) }, 'wrong');
  try {
    const client = new Client({ connection: stack.client.connection, dataConverter: wrong.dataConverter });
    for (const run of [small, large]) {
      const failure = await client.workflow
        .getHandle(run.run.workflow_id)
        .result()
        .then(
          () => undefined,
          (err: Error) => err,
        );
      expect(failure).toBeInstanceOf(EncryptionKeyUnavailable);
      expect(failure!.message).not.toContain(marker);
    }
    expect(await wrong.encryption!.check()).toMatchObject({ status: 'failing' });
  } finally {
    await wrong.close();
  }
});

test('submitted code and feedback texts are in no raw row of any table nor in any artifact file, and read back through the API and the CLI', async () => {
  const marker = `MARKER_${uniqueSuffix()}`;
  const name = `fields_${uniqueSuffix()}`;
  const code = `def ${name}(x: int) -> int:\n    """Triples x: ${marker}."""\n    return x * 3\n`;
  const enhanced = await postJson(`${stack.url}/api/v1/functions/enhance`, {
    function_name: name,
    original_code: code,
  });
  expect(enhanced.status).toBe(200);
  const feedback = await postJson(`${stack.url}/api/v1/functions/${name}/feedback`, {
    version: enhanced.body.version,
    execution_id: `exec-${uniqueSuffix()}`,
    feedback_type: 'user',
    rating: 5,
    comments: `works; ${marker}`,
    suggestions: [`keep ${marker}`],
    examples: [{ args: [2], expected: 6 }],
  });
  expect(feedback.status).toBeLessThan(300);

  const { columns, found } = await rowsContaining(stack.pool, marker);
  expect(columns).toBeGreaterThan(20);
  expect(found).toEqual([]);
  expect(filesContaining(stack.config.dataDir, marker)).toEqual([]);
  // The fields are there, in the envelope under key a.
  const fields = await stack.pool.query(
    `SELECT v.params #>> '{}' AS params, v.request #>> '{}' AS request, v.key_id, v.artifact_key_id,
            f.comments, f.suggestions #>> '{}' AS suggestions, f.key_id AS feedback_key,
            e.example #>> '{}' AS example, e.key_id AS example_key
       FROM versions v JOIN feedback f USING (tenant_id, function_name) JOIN feedback_examples e ON e.feedback_id = f.id
      WHERE v.function_name = $1`,
    [name],
  );
  // The version reported on, and the one its example made (feedback with examples regenerates).
  expect(fields.rows.length).toBeGreaterThanOrEqual(1);
  for (const row of fields.rows) {
    for (const column of ['params', 'request', 'comments', 'suggestions', 'example'])
      expect(row[column]).toMatch(new RegExp(`^${FIELD_PREFIX}a:`));
    expect(row).toMatchObject({ key_id: 'a', artifact_key_id: 'a', feedback_key: 'a', example_key: 'a' });
  }

  // Through the API, and `poet versions get` (which writes the folder from the API's answer): plaintext.
  const version = await getJson(`${stack.url}/api/v1/functions/${name}/versions/${enhanced.body.version}`);
  expect(version.status).toBe(200);
  expect(version.body.code.python).toBe(enhanced.body.enhanced_code.python);
  expect(version.body.code.python).toContain(marker);
  expect(version.body.params).toMatchObject({ domain: 'base_reliability' });
  expect(version.body.downloads).toBeNull();
  const exported = await fetch(`${stack.url}/api/v1/tenant/export`, {
    headers: { authorization: `Bearer ${stack.apiKey}` },
  }).then((res) => res.text());
  expect(exported).toContain(`works; ${marker}`);
  expect(exported).toContain(`keep ${marker}`);
  const folder = path.join(stack.config.dataDir, '..', `poet-get-${uniqueSuffix()}`);
  try {
    const got = await poet(['versions', 'get', name, String(enhanced.body.version), '--dir', folder], {
      POET_URL: stack.url,
      POET_API_KEY: stack.apiKey,
    });
    expect(got.code).toBe(0);
    expect(readFileSync(path.join(folder, 'code.py'), 'utf8')).toBe(enhanced.body.enhanced_code.python);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('the codec endpoint decrypts what the caller may read: its references, and everything for the operator tenant', async () => {
  const tenant = `acme_${uniqueSuffix()}`;
  const acme = await stack.createKey(tenant, 'admin');
  const other = await stack.createKey(`other_${uniqueSuffix()}`, 'admin');
  const marker = `MARKER_${uniqueSuffix()}`;
  const name = `codec_${uniqueSuffix()}`;
  const { history } = await enhanceAndReadRawHistory(stack, acme, name, largeFunction(name, marker));
  const result = (history.events ?? []).flatMap(
    (e) => e.workflowExecutionCompletedEventAttributes?.result?.payloads ?? [],
  );
  expect(result).toHaveLength(1);
  expect(Buffer.from(result[0]!.metadata!.encoding!).toString()).toBe(CLAIM_CHECK_ENCODING);
  // An inline payload: the run's memo, which names its tenant.
  const memo = history.events?.[0]?.workflowExecutionStartedEventAttributes?.memo?.fields?.tenant_id;
  expect(Buffer.from(memo!.metadata!.encoding!).toString()).toBe(ENCRYPTED_ENCODING);
  const payloads = [asJson(result[0]!), asJson(memo!)];

  const decode = (key: string) =>
    postJson(`${stack.url}/api/v1/codec/decode`, { payloads }, { authorization: `Bearer ${key}` });
  const text = (body: { payloads: { data: string }[] }, i: number) =>
    Buffer.from(body.payloads[i]!.data, 'base64').toString();
  // The tenant: its reference decrypted; an inline payload names no tenant, so it comes back still encrypted.
  const own = await decode(acme);
  expect(own.status).toBe(200);
  expect(text(own.body, 0)).toContain(marker);
  expect(own.body.payloads[1]).toEqual(payloads[1]);
  // The operator tenant reads both.
  const operator = await decode(stack.apiKey);
  expect(operator.status).toBe(200);
  expect(text(operator.body, 0)).toContain(marker);
  expect(text(operator.body, 1)).toBe(JSON.stringify(tenant));
  // Another tenant: not found, and nothing of the code.
  const foreign = await decode(other);
  expect(foreign).toMatchObject({ status: 404, body: { error: { code: 'payload_not_found' } } });
  expect(JSON.stringify(foreign.body)).not.toContain(marker);
});

test('readiness reports encryption on the API and the worker', async () => {
  const api = await getJson(`${stack.url}/health/ready`);
  expect(api.body.checks.encryption).toMatchObject({ status: 'ok', details: { active_key: 'a', keys: ['a'] } });
  const worker = await getJson(`${stack.worker.http.url}/health/ready`);
  expect(worker.body.checks.encryption).toMatchObject({ status: 'ok' });
});

test('several keys decrypt, the active one encrypts; a missing or wrong key fails closed and fails readiness', async () => {
  const value = { code: `def f(): return "${uniqueSuffix()}"` };
  const plain = defaultPayloadConverter.toPayload(value);
  const underA = await codecOf(KEY_A).encode([plain]);
  const keyB = newKeyEntry('b');
  const rotated = codecOf(`${KEY_A},${keyB}`, 'b');
  expect(defaultPayloadConverter.fromPayload((await rotated.decode(underA))[0]!)).toEqual(value);
  const underB = await rotated.encode([plain]);
  expect(EncryptionCodec.keyIdOf(underB[0]!)).toBe('b');
  // Unencrypted payloads (histories from before encryption, recorded replay histories) pass through.
  expect(await rotated.decode([plain])).toEqual([plain]);

  const missing = codecOf(keyB);
  await expect(missing.decode(underA)).rejects.toThrow(EncryptionKeyUnavailable);
  expect(await missing.check()).toMatchObject({ status: 'failing', error: expect.stringContaining('key a is not') });
  // The same id with other key material: the tag does not authenticate, so no garbled plaintext comes out.
  const wrong = codecOf(newKeyEntry('a'));
  await expect(wrong.decode(underA)).rejects.toThrow(/does not authenticate/);
  expect((await wrong.check()).status).toBe('failing');
  // Relabelling a payload with another key id fails too (the id is authenticated).
  const relabelled = { ...underA[0]!, metadata: { ...underA[0]!.metadata, [KEY_ID_METADATA]: Buffer.from('b') } };
  await expect(rotated.decode([relabelled])).rejects.toThrow(EncryptionKeyUnavailable);
  expect((await rotated.check()).status).toBe('failing');
});

test('ENCRYPTION_KEYS is checked at start, naming the entry and never printing key material', () => {
  const load = (env: Record<string, string>) => () => loadConfig({ ...env });
  const secret = Buffer.alloc(16, 7).toString('base64');
  expect(load({ ENCRYPTION_KEYS: `a:${secret}` })).toThrow(/key a is not 32 bytes/);
  expect(load({ ENCRYPTION_KEYS: `a:${secret}` })).not.toThrow(secret);
  expect(load({ ENCRYPTION_KEYS: `${KEY_A},${newKeyEntry('b')}` })).toThrow(/ENCRYPTION_ACTIVE_KEY must name/);
  expect(load({ ENCRYPTION_KEYS: `${KEY_A},${KEY_A}` })).toThrow(/key a is listed twice/);
  expect(load({ ENCRYPTION_KEYS: KEY_A, ENCRYPTION_ACTIVE_KEY: 'z' })).toThrow(/active key z is not/);
  expect(load({ ENCRYPTION_ACTIVE_KEY: 'a' })).toThrow(/without ENCRYPTION_KEYS/);
  expect(load({ ARTIFACT_ENCRYPTION: 'true' })).toThrow(/ARTIFACT_ENCRYPTION: set without ENCRYPTION_KEYS/);
  expect(loadConfig({}).encryption).toBeUndefined();
  expect(loadConfig({ ENCRYPTION_KEYS: KEY_A }).encryption?.activeKeyId).toBe('a');
});
