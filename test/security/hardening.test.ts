import { readdirSync } from 'node:fs';
import { Writable } from 'node:stream';
import winston from 'winston';
import { redactSecrets } from '../../src/infra/observability/redact';
import { getJson, postJson, requestJson, startStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack('hardening', { CORS_ALLOWED_ORIGINS: 'https://dashboard.example.com' });
});
afterAll(() => stack.close());

describe('HTTP hardening', () => {
  test('helmet headers on every answer, errors included; no X-Powered-By', async () => {
    for (const res of [
      await getJson(`${stack.url}/health/live`),
      await getJson(`${stack.url}/api/v1/runs/x`, { authorization: '' }),
    ]) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('strict-transport-security')).toMatch(/max-age=/);
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(res.headers.get('x-powered-by')).toBeNull();
    }
  });

  test('CORS: the allow-listed origin gets access, others get no CORS headers', async () => {
    const preflight = (origin: string) =>
      fetch(`${stack.url}/api/v1/functions/enhance`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,x-api-key',
        },
      });
    const allowed = await preflight('https://dashboard.example.com');
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://dashboard.example.com');
    const denied = await preflight('https://evil.example.net');
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
    const simple = await getJson(`${stack.url}/health/live`, { origin: 'https://evil.example.net' });
    expect(simple.headers.get('access-control-allow-origin')).toBeNull();
  });

  test('errors carry no stack traces, SQL or secrets', async () => {
    const answers = [
      await postJson(`${stack.url}/api/v1/functions/enhance`, '{"function_name": '),
      await postJson(`${stack.url}/api/v1/functions/enhance`, {
        function_name: "x'; DROP TABLE versions; --",
        original_code: 'def x(): pass',
      }),
      await getJson(`${stack.url}/api/v1/admin/audit?before=99999999999999999999`),
      await getJson(`${stack.url}/api/v1/runs/x`, { authorization: `Bearer ${stack.apiKey}x` }),
      await requestJson('DELETE', `${stack.url}/api/v1/admin/api-keys/${"poet_1' OR '1'='1"}`),
    ];
    for (const res of answers) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(Object.keys(res.body)).toEqual(['error']);
      const text = JSON.stringify(res.body);
      expect(text).not.toMatch(/\n\s+at |node_modules|\.ts:\d+|SELECT|INSERT|relation "|syntax error/i);
      expect(text).not.toContain(stack.apiKey.split('.')[1]);
    }
  });

  test('the body size limit answers 413 before anything is parsed', async () => {
    const res = await postJson(`${stack.url}/v1/external/enhance`, {
      function_name: 'f',
      original_code: 'x'.repeat(300 * 1024),
    });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
  });

  test('function names are validated before they touch paths: hostile names are 400 and nothing is written', async () => {
    const hostile = [
      '../../../tmp/pwned',
      '..',
      'a/b',
      'a\\b',
      '%2e%2e',
      'x\u0000y',
      '__init__',
      'ünïcode',
      ' f',
      'f'.repeat(200),
    ];
    for (const name of hostile) {
      const res = await postJson(`${stack.url}/api/v1/functions/enhance`, {
        function_name: name,
        original_code: `def f():\n    pass\n`,
      });
      expect(res.status).toBe(400);
      expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain('function_name');
    }
    expect(readdirSync(stack.config.dataDir)).toEqual([]);
    expect((await stack.pool.query('SELECT count(*)::int AS n FROM functions')).rows[0].n).toBe(0);
  });
});

describe('secrets in logs', () => {
  test('keys, tokens, passwords and connection-string credentials are masked, by field name and by shape', () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new winston.transports.Stream({
      stream: new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(JSON.parse(chunk.toString()));
          done();
        },
      }),
    });
    const logger = winston.createLogger({
      format: winston.format.combine(redactSecrets(), winston.format.json()),
      transports: [sink],
    });
    const key = `poet_0123456789ab.${'S'.repeat(43)}`;
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    logger.info(`calling with ${key}`, {
      headers: { authorization: `Bearer ${jwt}`, 'x-api-key': key, accept: 'application/json' },
      url: 'postgres://poet:hunter2@db:5432/poet',
      nested: [{ password: 'hunter2', tokens: 42 }],
      note: `token ${jwt} used`,
    });
    const text = JSON.stringify(lines);
    expect(text).not.toContain('S'.repeat(43));
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain(jwt);
    expect(lines[0]).toMatchObject({
      message: 'calling with poet_0123456789ab.[redacted]',
      headers: { authorization: '[redacted]', 'x-api-key': '[redacted]', accept: 'application/json' },
      url: 'postgres://poet:[redacted]@db:5432/poet',
      nested: [{ password: '[redacted]', tokens: 42 }],
    });
  });
});
