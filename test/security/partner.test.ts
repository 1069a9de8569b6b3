import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWTPayload, type KeyLike } from 'jose';
import { createPartnerVerifier } from '../../src/infra/auth/partner-jwt';
import { loadConfig } from '../../src/config';
import { waitUntil } from '../../src/cli/wait';
import { getJson, postJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';

// Keys made here, in the test: the partner's signing key and an attacker's.
let partnerKey: { publicKey: KeyLike; privateKey: KeyLike };
let otherKey: { publicKey: KeyLike; privateKey: KeyLike };
let publicPem: string;
let stack: TestStack;
let url: string;

const ISS = 'aitomatic';
const AUD = 'poet-service';
const now = () => Math.floor(Date.now() / 1000);

function claims(overrides: JWTPayload = {}): JWTPayload {
  return {
    service: 'aitomatic_transpilation',
    sub: 'transpiler-1',
    iss: ISS,
    aud: AUD,
    iat: now(),
    exp: now() + 300,
    ...overrides,
  };
}

function sign(payload: JWTPayload, key: KeyLike | Uint8Array = partnerKey.privateKey, alg = 'RS256'): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT' }).sign(key);
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function body(name: string) {
  return {
    transpilation_id: `tr-${name}`,
    agent_id: 'agent-7',
    dana_source: `def ${name}(x: int) -> int:\n    return x * 2\n`,
    python_code: `def ${name}(x: int) -> int:\n    return x * 2\n`,
    function_name: name,
    domain: 'computation',
    config: { optimize_for: 'reliability' },
  };
}

beforeAll(async () => {
  partnerKey = await generateKeyPair('RS256');
  otherKey = await generateKeyPair('RS256');
  publicPem = await exportSPKI(partnerKey.publicKey);
  stack = await startStack('partner', {
    PARTNER_JWT_PUBLIC_KEY: publicPem,
    PARTNER_JWT_ISSUER: ISS,
    PARTNER_JWT_AUDIENCE: AUD,
    PARTNER_TENANT: 'aitomatic',
  });
  url = `${stack.url}/v1/aitomatic/enhance`;
});
afterAll(() => stack.close());

describe('POST /v1/aitomatic/enhance', () => {
  let partnerRun: string;

  test('a valid RS256 token: enhanced Dana and Python, version and metadata, in the partner tenant', async () => {
    const name = `partner_${uniqueSuffix()}`;
    const res = await postJson(url, body(name), { authorization: `Bearer ${await sign(claims())}` });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      transpilation_id: `tr-${name}`,
      agent_id: 'agent-7',
      function_name: name,
      version: 1,
    });
    expect(res.body.metadata).toMatchObject({ domain: 'computation', optimize_for: 'reliability' });
    expect(res.body.enhanced_python).toContain(`def ${name}`);
    expect(res.body.enhanced_dana).toContain(name);
    partnerRun = res.body.run.workflow_id;
    const rows = await stack.pool.query('SELECT tenant_id FROM versions WHERE function_name = $1', [name]);
    expect(rows.rows).toEqual([{ tenant_id: 'aitomatic' }]);
  });

  const rejected: Array<[string, () => Promise<string>]> = [
    ['expired', () => sign(claims({ exp: now() - 5, iat: now() - 600 }))],
    ['not yet valid (nbf)', () => sign(claims({ nbf: now() + 600 }))],
    ['without exp', () => sign(claims({ exp: undefined }))],
    ['without iat', () => sign(claims({ iat: undefined }))],
    ['issued longer ago than PARTNER_JWT_MAX_AGE (1 h)', () => sign(claims({ iat: now() - 3700 }))],
    ['expiring 10 years out', () => sign(claims({ exp: now() + 10 * 365 * 86_400 }))],
    ['wrong service', () => sign(claims({ service: 'something_else' }))],
    ['missing service', () => sign(claims({ service: undefined }))],
    ['wrong issuer', () => sign(claims({ iss: 'mallory' }))],
    ['wrong audience', () => sign(claims({ aud: 'another-service' }))],
    ['signed by another key', () => sign(claims(), otherKey.privateKey)],
    [
      'HS256 with the public key as the HMAC secret',
      () => sign(claims(), new TextEncoder().encode(publicPem), 'HS256'),
    ],
    [
      'a tampered signature',
      async () => {
        const [h, p, s] = (await sign(claims())).split('.');
        return `${h}.${p}.${s!.slice(0, -4)}${s!.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
      },
    ],
    [
      'a tampered payload',
      async () => {
        const [h, , s] = (await sign(claims())).split('.');
        return `${h}.${b64(claims({ sub: 'admin' }))}.${s}`;
      },
    ],
    ['alg none', async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`],
    ['not a JWT', async () => 'hello'],
  ];

  test.each(rejected)('%s: 401, nothing started, the failure audited', async (label, token) => {
    const name = `rej_${uniqueSuffix()}`;
    const requestId = `req-${uniqueSuffix()}`;
    const res = await postJson(url, body(name), {
      authorization: `Bearer ${await token()}`,
      'x-request-id': requestId,
    });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({
      error: { code: 'unauthorized', message: 'invalid partner token', category: 'input', severity: 'warning' },
    });
    expect((await stack.pool.query('SELECT 1 FROM functions WHERE name = $1', [name])).rowCount).toBe(0);
    await waitUntil(
      async () =>
        (
          await stack.pool.query(
            `SELECT 1 FROM audit_log WHERE request_id = $1 AND action = 'POST /v1/aitomatic/enhance' AND outcome = 'denied' AND details->>'reason' LIKE 'jwt:%'`,
            [requestId],
          )
        ).rowCount === 1,
      5_000,
      `audit row for ${label}`,
    );
  });

  test('a token with a jti is accepted once: the replay is a 401, audited as such', async () => {
    const token = await sign(claims({ jti: `jti-${uniqueSuffix()}` }));
    const name = `once_${uniqueSuffix()}`;
    expect((await postJson(url, body(name), { authorization: `Bearer ${token}` })).status).toBe(200);
    const requestId = `req-${uniqueSuffix()}`;
    const replay = await postJson(url, body(`again_${uniqueSuffix()}`), {
      authorization: `Bearer ${token}`,
      'x-request-id': requestId,
    });
    expect(replay.status).toBe(401);
    await waitUntil(
      async () =>
        (
          await stack.pool.query(
            `SELECT 1 FROM audit_log WHERE request_id = $1 AND details->>'reason' = 'jwt:replayed'`,
            [requestId],
          )
        ).rowCount === 1,
      5_000,
      'audit row of the replay',
    );
  });

  test('an API key is not a partner token, and a partner token is not an API key', async () => {
    expect((await postJson(url, body('f'), { 'x-api-key': stack.apiKey })).status).toBe(401);
    const token = await sign(claims());
    expect((await getJson(`${stack.url}/api/v1/runs/${partnerRun}`, { authorization: `Bearer ${token}` })).status).toBe(
      401,
    );
  });

  test('the partner polls its own runs only; the default tenant cannot see them', async () => {
    const token = await sign(claims());
    const own = await getJson(`${stack.url}/v1/aitomatic/runs/${partnerRun}`, { authorization: `Bearer ${token}` });
    expect(own.status).toBe(200);
    expect(own.body.status).toBe('completed');
    expect((await getJson(`${stack.url}/api/v1/runs/${partnerRun}`)).status).toBe(404);

    const name = `dflt_${uniqueSuffix()}`;
    const mine = await postJson(`${stack.url}/api/v1/functions/enhance`, {
      function_name: name,
      original_code: `def ${name}(x):\n    return x\n`,
    });
    expect(mine.status).toBe(200);
    expect(
      (
        await getJson(`${stack.url}/v1/aitomatic/runs/${mine.body.run.workflow_id}`, {
          authorization: `Bearer ${token}`,
        })
      ).status,
    ).toBe(404);
  });

  test('strict body: unknown keys and bad function names are 400 with their paths', async () => {
    const token = await sign(claims());
    const extra = await postJson(url, { ...body('f'), admin: true }, { authorization: `Bearer ${token}` });
    expect(extra.status).toBe(400);
    expect(extra.body.error.details).toEqual([expect.objectContaining({ path: '(body)' })]);
    const traversal = await postJson(
      url,
      { ...body('f'), function_name: '../../etc/passwd' },
      { authorization: `Bearer ${token}` },
    );
    expect(traversal.status).toBe(400);
    expect(traversal.body.error.details[0].path).toBe('function_name');
  });
});

describe('partner keys from a JWKS URL', () => {
  let jwks: Server;
  beforeAll(async () => {
    const jwk = { ...(await exportJWK(partnerKey.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    jwks = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => jwks.close(() => resolve())));

  test('accepts tokens of the published key and refuses others', async () => {
    const { port } = jwks.address() as AddressInfo;
    const verifier = await createPartnerVerifier(
      loadConfig({ PARTNER_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json` }),
    );
    const signWithKid = (key: KeyLike) =>
      new SignJWT(claims()).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).sign(key);
    expect(await verifier!.verify(await signWithKid(partnerKey.privateKey))).toEqual({
      ok: true,
      subject: 'transpiler-1',
    });
    expect((await verifier!.verify(await signWithKid(otherKey.privateKey))).ok).toBe(false);
  });

  test('no key configured: no verifier, so the endpoint refuses every call', async () => {
    expect(await createPartnerVerifier(loadConfig({}))).toBeUndefined();
  });
});
