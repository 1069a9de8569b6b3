import { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { CLAIM_CHECK_ENCODING, createClaimCheck, type ClaimCheck } from '../../src/infra/temporal/claim-check';
import { enhanceAndReadRawHistory, largeFunction } from '../helpers/raw-history';
import { postJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';

/** Large payloads leave the history (DESIGN: claim check): stored once in PostgreSQL, referenced, decoded by every process. */
let stack: TestStack;
let claimCheck: ClaimCheck;

beforeAll(async () => {
  stack = await startStack('claimcheck');
  claimCheck = createClaimCheck(stack.config, 'test-codec');
});
afterAll(async () => {
  await claimCheck.close();
  await stack.close();
});

test('an enhancement of a large function keeps its code out of the history and still answers it whole', async () => {
  const name = `big_${uniqueSuffix()}`;
  const marker = `MARKER_${uniqueSuffix()}`;
  const doc = `${marker} ${'explains the function at length. '.repeat(200)}`;
  const code = `def ${name}(x: int) -> int:\n    """${doc}"""\n    return x * 2\n`;
  const res = await postJson(`${stack.url}/api/v1/functions/enhance`, { function_name: name, original_code: code });
  expect(res.status).toBe(200);
  expect(res.body.enhanced_code.python).toContain(marker);

  // What Temporal stores, read without the codec: references, never the code.
  const raw = new Client({ connection: stack.client.connection, namespace: stack.config.TEMPORAL_NAMESPACE });
  const history = await raw.workflow.getHandle(res.body.run.workflow_id).fetchHistory();
  const stored = Buffer.from(temporal.api.history.v1.History.encode(history).finish()).toString('latin1');
  expect(stored).not.toContain(marker);
  expect(stored).toContain(CLAIM_CHECK_ENCODING);

  // A client with the codec (the API's, the tests') reads the result as the workflow returned it.
  const result = await stack.client.workflow.getHandle(res.body.run.workflow_id).result();
  expect(result.enhanced_code.python).toBe(res.body.enhanced_code.python);
  const rows = await stack.pool.query<{ n: string }>('SELECT count(*) AS n FROM payloads');
  expect(Number(rows.rows[0]!.n)).toBeGreaterThan(0);

  // The Temporal UI's codec endpoint turns the references back into the code, for admins only.
  const references = (history.events ?? [])
    .flatMap((e) => e.workflowExecutionCompletedEventAttributes?.result?.payloads ?? [])
    .map((p) => ({
      metadata: { encoding: Buffer.from(p.metadata!.encoding!).toString('base64') },
      data: Buffer.from(p.data!).toString('base64'),
    }));
  expect(references).toHaveLength(1);
  const decoded = await postJson(`${stack.url}/api/v1/codec/decode`, { payloads: references });
  expect(decoded.status).toBe(200);
  expect(Buffer.from(decoded.body.payloads[0].data, 'base64').toString()).toContain(marker);
  const agentKey = await stack.createKey('default', 'agent');
  const refused = await postJson(
    `${stack.url}/api/v1/codec/decode`,
    { payloads: references },
    { authorization: `Bearer ${agentKey}` },
  );
  expect(refused.status).toBe(403);
  const bad = await postJson(`${stack.url}/api/v1/codec/decode`, { payloads: [{ data: 'not base64!' }] });
  expect(bad.status).toBe(400);
  expect(bad.body.error.code).toBe('invalid_request');
});

test('small payloads stay inline; a reference round-trips in and across processes; a pruned payload is a clear error', async () => {
  const { codec } = claimCheck;
  // Another process: nothing in its memory, every reference is read from PostgreSQL.
  const other = createClaimCheck(stack.config, 'test-codec-other');
  const small = defaultPayloadConverter.toPayload({ ok: true });
  expect(await codec.encode([small])).toEqual([small]);

  const large = defaultPayloadConverter.toPayload({ text: `x${uniqueSuffix()}`.repeat(2_000) });
  const [reference] = await codec.encode([large]);
  expect(Buffer.from(reference!.metadata!.encoding!).toString()).toBe(CLAIM_CHECK_ENCODING);
  expect(reference!.data!.length).toBeLessThan(200);
  const [back, same] = await codec.decode([reference!, small]);
  expect(defaultPayloadConverter.fromPayload(back!)).toEqual(defaultPayloadConverter.fromPayload(large));
  expect(same).toEqual(small);
  const [elsewhere] = await other.codec.decode([reference!]);
  expect(defaultPayloadConverter.fromPayload(elsewhere!)).toEqual(defaultPayloadConverter.fromPayload(large));

  // What the codec keeps in memory is only what it counts: no entry holds a larger shared buffer alive.
  for (let i = 0; i < 20; i++)
    await codec.encode([defaultPayloadConverter.toPayload({ text: `y${i}${uniqueSuffix()}`.repeat(600) })]);
  const memory = codec.memory();
  expect(memory.entries).toBeGreaterThanOrEqual(21);
  expect(memory.retainedBytes).toBe(memory.bytes);

  const { id } = JSON.parse(Buffer.from(reference!.data!).toString()) as { id: string };
  await stack.pool.query(`UPDATE payloads SET created_at = now() - interval '40 days' WHERE id = $1`, [id]);
  expect(await codec.prune(30)).toBeGreaterThanOrEqual(1);
  // The writer answers from its memory of recent payloads (no query); a process without it gets a clear error.
  const [remembered] = await codec.decode([reference!]);
  expect(defaultPayloadConverter.fromPayload(remembered!)).toEqual(defaultPayloadConverter.fromPayload(large));
  const fresh = createClaimCheck(stack.config, 'test-codec-fresh');
  await expect(fresh.codec.decode([reference!])).rejects.toThrow(`payload ${id} is not in the payload store`);
  await Promise.all([other.close(), fresh.close()]);
});

test("payload rows record their tenant; the codec endpoint decodes only the caller's tenant's, every tenant's for operators", async () => {
  const acme = await stack.createKey(`acme_${uniqueSuffix()}`, 'admin');
  const other = await stack.createKey(`other_${uniqueSuffix()}`, 'admin');
  const name = `tenanted_${uniqueSuffix()}`;
  const marker = `MARKER_${uniqueSuffix()}`;
  const { history } = await enhanceAndReadRawHistory(stack, acme, name, largeFunction(name, marker));
  const references = (history.events ?? [])
    .flatMap((e) => e.workflowExecutionCompletedEventAttributes?.result?.payloads ?? [])
    .map((p) => ({
      metadata: { encoding: Buffer.from(p.metadata!.encoding!).toString('base64') },
      data: Buffer.from(p.data!).toString('base64'),
    }));
  expect(references).toHaveLength(1);
  const { id } = JSON.parse(Buffer.from(references[0]!.data, 'base64').toString()) as { id: string };
  const rows = await stack.pool.query<{ tenant_id: string }>('SELECT tenant_id FROM payloads WHERE id = $1', [id]);
  expect(rows.rows.map((r) => r.tenant_id)).toEqual([expect.stringMatching(/^acme_/)]);

  const decode = (key: string, payloads: unknown) =>
    postJson(`${stack.url}/api/v1/codec/decode`, { payloads }, { authorization: `Bearer ${key}` });
  const own = await decode(acme, references);
  expect(own.status).toBe(200);
  expect(Buffer.from(own.body.payloads[0].data, 'base64').toString()).toContain(marker);
  const operator = await decode(stack.apiKey, references);
  expect(operator.status).toBe(200);
  expect(Buffer.from(operator.body.payloads[0].data, 'base64').toString()).toContain(marker);

  const foreign = await decode(other, references);
  expect(foreign).toMatchObject({ status: 404, body: { error: { code: 'payload_not_found' } } });
  expect(JSON.stringify(foreign.body)).not.toContain(marker);
  const unknown = (data: string) => [{ metadata: references[0]!.metadata, data: Buffer.from(data).toString('base64') }];
  // An unknown id and a malformed reference answer exactly like a foreign one: no oracle for what exists.
  for (const payloads of [unknown(JSON.stringify({ id: '0'.repeat(64), bytes: 10 })), unknown('not json')]) {
    for (const key of [acme, stack.apiKey]) expect((await decode(key, payloads)).status).toBe(404);
  }
});
