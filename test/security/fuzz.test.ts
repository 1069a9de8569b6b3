import fc from 'fast-check';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import type { AnyRoute as RouteRule } from '../../src/api/route';
import { ROUTES as ROUTE_RULES } from '../../src/api/routes';
import { getJson, requestJson, startStack, type JsonAnswer, type TestStack } from '../helpers/stack';

/**
 * Property-based hostile input against every route of the table: random and hostile bodies, headers, paths and
 * query strings. Properties: no 5xx, the process stays up, error bodies are the documented shape without stack
 * traces, and a rejected request writes nothing (functions, versions, events, api keys, domains; audit rows are expected).
 */
const RUNS_PER_ROUTE = 200;

let stack: TestStack;
let credentials: Array<Record<string, string>>;
let cases = 0;
let refusedByClient = 0;

const HOSTILE = [
  '../../etc/passwd',
  '..%2F..%2Fetc%2Fpasswd',
  '%2e%2e',
  '%00',
  '\u0000',
  "'; DROP TABLE versions; --",
  '" OR 1=1 --',
  '<script>alert(1)</script>',
  '${jndi:ldap://x/a}',
  '__proto__',
  'constructor',
  'prototype',
  '💥🧨',
  '\u202e',
  'A'.repeat(4096),
  '-1',
  '1e309',
  'NaN',
  'null',
  'true',
  '[]',
  '{}',
  'poet_000000000000',
  'enhance-x-000000000000',
  'admin',
  '\r\nX-Injected: 1',
];

const hostileString = fc.oneof(
  fc.constantFrom(...HOSTILE),
  fc.string({ maxLength: 64 }),
  fc.string({ unit: 'binary', maxLength: 64 }),
);
const pyLike = fc.oneof(
  hostileString,
  fc.constantFrom('def f(x):\n    return x\n', 'def f(:\n', 'import os\nos.system("id")\n', 'while True: pass\n'),
);

const enhanceLike = fc.record(
  {
    function_name: hostileString,
    original_code: pyLike,
    domain: fc.oneof(hostileString, fc.constantFrom('base_reliability', 'computation')),
    optimize_for: hostileString,
    context: fc.oneof(fc.jsonValue(), fc.record({ samples: fc.array(fc.jsonValue(), { maxLength: 3 }) })),
    extra: fc.jsonValue(),
  },
  { requiredKeys: [] },
);
const partnerLike = fc.record(
  {
    transpilation_id: hostileString,
    agent_id: hostileString,
    dana_source: pyLike,
    python_code: pyLike,
    function_name: hostileString,
    domain: hostileString,
    config: fc.jsonValue(),
  },
  { requiredKeys: [] },
);
const domainLike = fc.record(
  {
    name: fc.oneof(hostileString, fc.constantFrom('lab', 'base_reliability')),
    description: hostileString,
    perceive: fc.jsonValue(),
    operate: fc.oneof(fc.jsonValue(), fc.record({ retries: fc.integer(), timeout_s: fc.double() })),
  },
  { requiredKeys: [] },
);
const keyLike = fc.record(
  { name: hostileString, role: fc.oneof(hostileString, fc.constantFrom('viewer', 'admin', 'root')) },
  { requiredKeys: [] },
);

/** A body: JSON shaped like the route's, any JSON at all, prototype-pollution attempts, or bytes that are not JSON. */
const bodies = fc.oneof(
  enhanceLike,
  partnerLike,
  domainLike,
  keyLike,
  fc.jsonValue(),
  fc.constant('{"__proto__": {"role": "admin"}, "constructor": {"prototype": {"admin": true}}}'),
  fc.constant(`${'['.repeat(2000)}${']'.repeat(2000)}`),
  fc
    .integer({ min: 65, max: 10_000 })
    .map(
      (depth) =>
        `{"function_name":"f","original_code":"def f(x):\\n    return x\\n","context":{"samples":[${'['.repeat(depth)}${']'.repeat(depth)}]}}`,
    ),
  fc.constantFrom(
    '1e400',
    '-1e400',
    '9'.repeat(5000),
    `{"limit": ${'9'.repeat(400)}}`,
    '{"retries": 1e309, "timeout_s": -1e-400}',
  ),
  fc.constantFrom(
    '"\\ud800"',
    '{"function_name": "f\\udc00", "original_code": "def f(x):\\n    return \'\\ud83d\'\\n"}',
  ),
  hostileString.map((s) => `{"function_name": ${s}`),
  fc.constant(undefined),
);

const queries = fc.oneof(
  fc.constant(''),
  fc
    .dictionary(
      fc.constantFrom('wait', 'limit', 'before', 'since', 'outcome', 'actor', 'x', '__proto__'),
      hostileString,
      { maxKeys: 3 },
    )
    .map(
      (q) =>
        `?${Object.entries(q)
          .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
          .join('&')}`,
    ),
  fc.constantFrom('?wait=1&wait=2', '?limit=%zz', '?a[b]=c', '?wait=-1', '?wait=999999'),
);

const contentTypes = fc.constantFrom(
  'application/json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/json; charset=utf-7',
  'application/json; charset=latin1',
);

/** A path of the rule with every `:param` replaced by something hostile, encoded or raw-ish. */
function pathFor(rule: RouteRule) {
  const params = (rule.path.match(/:[a-z]+/gi) ?? []).map(() =>
    fc.oneof(hostileString.map(encodeURIComponent), fc.constantFrom('%zz', '%', '..', '.', '%2F')),
  );
  return fc.tuple(...params).map((values) => {
    let i = 0;
    return rule.path.replace(/:[a-z]+/gi, () => values[i++]!);
  });
}

async function writeCounts(): Promise<string> {
  const { rows } = await stack.pool.query(
    `SELECT (SELECT count(*) FROM functions) AS f, (SELECT count(*) FROM versions) AS v, (SELECT count(*) FROM events) AS e, (SELECT count(*) FROM api_keys) AS k, (SELECT count(*) FROM domains) AS d`,
  );
  return JSON.stringify(rows[0]);
}

async function checkAnswer(
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<void> {
  const before = await writeCounts();
  let res: JsonAnswer;
  try {
    res = await requestJson(method, `${stack.url}${path}`, body, headers);
  } catch (err) {
    // fetch refuses some header values itself (NUL, CR/LF): nothing reached the server. (TypeError of another realm.)
    if ((err as Error).name === 'TypeError') {
      refusedByClient++;
      return;
    }
    throw err;
  }
  cases++;
  expect(res.status).toBeLessThan(500);
  if (res.status >= 400) {
    expect(Object.keys(res.body)).toEqual(['error']);
    expect(typeof res.body.error.code).toBe('string');
    expect(JSON.stringify(res.body)).not.toMatch(/\n\s+at |node_modules|\.ts:\d+|SELECT |INSERT /);
    expect(await writeCounts()).toBe(before);
  }
}

beforeAll(async () => {
  const partner = await generateKeyPair('RS256');
  stack = await startStack('fuzz', {
    PARTNER_JWT_PUBLIC_KEY: await exportSPKI(partner.publicKey),
    BODY_LIMIT_BYTES: '65536',
    ENHANCE_WAIT_SECONDS: '2',
  });
  const token = await new SignJWT({ service: 'aitomatic_transpilation', iss: 'aitomatic', aud: 'poet-service' })
    .setProtectedHeader({ alg: 'RS256' })
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(partner.privateKey);
  const viewer = await stack.createKey('default', 'viewer');
  const agent = await stack.createKey('other', 'agent');
  credentials = [
    { authorization: '' },
    { authorization: `Bearer ${stack.apiKey}` },
    { 'x-api-key': viewer },
    { 'x-api-key': agent },
    { authorization: `Bearer ${token}` },
    { authorization: `Bearer ${stack.apiKey.slice(0, -1)}x` },
    { authorization: 'Bearer' },
    { authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` },
    { 'x-api-key': `poet_000000000000.${'A'.repeat(43)}` },
    { authorization: `Bearer ${token}`, 'x-api-key': stack.apiKey },
  ];
});
afterAll(async () => {
  process.stdout.write(
    `fuzz: ${cases} requests against ${ROUTE_RULES.length} routes and random paths (plus ${refusedByClient} the HTTP client refused to send): no 5xx, no write on a rejected request\n`,
  );
  await stack.close();
});

describe('hostile input on every route', () => {
  test.each(ROUTE_RULES.map((rule) => [`${rule.method} ${rule.path}`, rule] as const))('%s', async (_name, rule) => {
    await fc.assert(
      fc.asyncProperty(
        pathFor(rule),
        queries,
        bodies,
        fc.integer({ min: 0, max: credentials.length - 1 }),
        contentTypes,
        fc.dictionary(
          fc.constantFrom('prefer', 'x-request-id', 'origin', 'x-forwarded-for', 'content-encoding'),
          hostileString,
          { maxKeys: 2 },
        ),
        fc.constantFrom(rule.method, rule.method, rule.method, 'GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
        async (path, query, body, credential, contentType, extra, method) => {
          const headers = {
            ...extra,
            ...credentials[credential]!,
            ...(body === undefined ? {} : { 'content-type': contentType }),
          };
          await checkAnswer(
            method,
            `${path}${query}`,
            method === 'GET' || method === 'DELETE' ? undefined : body,
            headers,
          );
        },
      ),
      { numRuns: RUNS_PER_ROUTE },
    );
  });

  test('random paths and methods', async () => {
    const segment = fc.oneof(
      hostileString.map(encodeURIComponent),
      fc.constantFrom('api', 'v1', 'admin', 'functions', 'runs', '..', '%2e%2e', 'health'),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(segment, { minLength: 1, maxLength: 6 }),
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
        fc.integer({ min: 0, max: 9 }),
        async (segments, method, credential) => {
          await checkAnswer(method, `/${segments.join('/')}`, method === 'POST' ? {} : undefined, {
            ...credentials[credential]!,
          });
        },
      ),
      { numRuns: 100 },
    );
  });

  test('bodies the parser refuses: too deep, not UTF-8; huge numbers and lone surrogates answer 4xx', async () => {
    const enhance = `${stack.url}/api/v1/functions/enhance`;
    const send = async (body: string | Uint8Array) => {
      const res = await fetch(enhance, {
        method: 'POST',
        headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
        body,
      });
      cases++;
      return { status: res.status, body: (await res.json()) as { error: { code: string; message: string } } };
    };
    const code = 'def ident(x):\n    return x\n';
    const deep = await send(
      `{"function_name":"ident","original_code":${JSON.stringify(code)},"context":{"samples":[${'['.repeat(10_000)}${']'.repeat(10_000)}]}}`,
    );
    expect(deep).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_request', message: 'request body nests deeper than 64 levels' } },
    });
    // "é" as Latin-1 (0xe9) and a truncated sequence (0xc3): not UTF-8, so never stored as U+FFFD.
    for (const bad of [[0xe9], [0xc3, 0x28], [0xff]]) {
      const head = Buffer.from(`{"function_name":"ident","original_code":"def ident(x):\\n    return '`);
      const tail = Buffer.from(`'\\n"}`);
      const res = await send(Buffer.concat([head, Buffer.from(bad), tail]));
      expect(res).toMatchObject({
        status: 400,
        body: { error: { code: 'invalid_json', message: 'request body is not valid UTF-8' } },
      });
    }
    for (const body of [
      '{"function_name":"ident","original_code":"x","context":{"samples":[[1e400]]}}',
      `[${'9'.repeat(10_000)}]`,
      '{"function_name":"\\ud800","original_code":"x"}',
    ]) {
      const { status } = await send(body);
      expect([status >= 400, status < 500]).toEqual([true, true]);
    }
    expect(await stack.pool.query('SELECT 1 FROM functions WHERE name = $1', ['ident'])).toMatchObject({ rowCount: 0 });
  });

  test('the service is still up and answering', async () => {
    expect((await getJson(`${stack.url}/health/live`)).status).toBe(200);
    expect(cases + refusedByClient).toBeGreaterThanOrEqual(ROUTE_RULES.length * RUNS_PER_ROUTE + 100);
    expect(cases).toBeGreaterThan(refusedByClient);
  });
});
