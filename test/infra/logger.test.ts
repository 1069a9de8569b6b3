import { PassThrough } from 'node:stream';
import { createLogger, withLogContext } from '../../src/infra/observability/logger';
import { redactString } from '../../src/infra/observability/redact';

function capture(level = 'debug') {
  const lines: Record<string, unknown>[] = [];
  const sink = new PassThrough();
  sink.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n'))
      if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  return { lines, logger: createLogger({ level, service: 'test', stream: sink }) };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('JSON logs', () => {
  test('one JSON object per event, carrying the correlation context of where it was logged', async () => {
    const { lines, logger } = capture();
    await withLogContext({ request_id: 'r-1' }, async () => {
      logger.info('outer');
      await withLogContext({ workflow_id: 'wf-1', run_id: 'run-1', activity: 'generate' }, async () => {
        await flush();
        logger.info('inner', { attempt: 2 });
      });
    });
    logger.info('outside');
    await flush();
    expect(lines.map((l) => [l.message, l.request_id, l.workflow_id, l.activity])).toEqual([
      ['outer', 'r-1', undefined, undefined],
      ['inner', 'r-1', 'wf-1', 'generate'],
      ['outside', undefined, undefined, undefined],
    ]);
    expect(lines[1]).toMatchObject({
      level: 'info',
      service: 'test',
      run_id: 'run-1',
      attempt: 2,
      timestamp: expect.any(String),
    });
  });

  test('the level comes from the configuration', async () => {
    const { lines, logger } = capture('warn');
    logger.info('dropped');
    logger.warn('kept');
    await flush();
    expect(lines.map((l) => l.message)).toEqual(['kept']);
  });

  test('secrets and personal data are masked in fields, nested objects, errors and messages (through ./redact); counts are not', async () => {
    const { lines, logger } = capture();
    logger.warn('login by jane.doe@example.com with Bearer abcdefghijklmnop', {
      authorization: 'Bearer abcdefghijklmnop',
      api_key: 'sk-live-1234567890abcdef',
      headers: { cookie: 'session=abc', 'x-api-key': 'k-123', accept: 'application/json' },
      url: 'postgres://poet:s3cret-pass@db:5432/poet',
      input_tokens: 120,
      note: 'card 4111 1111 1111 1111, order 1763856000001',
      error: new Error('redis://:hunter2@cache:6379 refused'),
      nested: [{ password: 'p4ss', user: 'admin' }],
    });
    await flush();
    const line = lines[0]!;
    const text = JSON.stringify(line);
    for (const secret of [
      'jane.doe@example.com',
      'abcdefghijklmnop',
      'sk-live-1234567890abcdef',
      'session=abc',
      'k-123',
      's3cret-pass',
      'hunter2',
      'p4ss',
      '4111 1111',
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(line).toMatchObject({
      authorization: '[redacted]',
      api_key: '[redacted]',
      headers: { cookie: '[redacted]', 'x-api-key': '[redacted]', accept: 'application/json' },
      url: 'postgres://poet:[redacted]@db:5432/poet',
      input_tokens: 120,
      note: 'card [redacted-card], order 1763856000001',
      error: { name: 'Error', message: 'redis://:[redacted]@cache:6379 refused' },
      nested: [{ password: '[redacted]', user: 'admin' }],
    });
    expect(line.message).toBe('login by [redacted-email] with Bearer [redacted]');
  });

  test('ordinary text stays as it is', () => {
    const text = 'enhance-add_3-0123456789ab completed in 152 ms at 2026-11-23T01:02:03Z, task sk-x, 1763856000001';
    expect(redactString(text)).toBe(text);
  });
});

describe('bounded redaction', () => {
  test('a logged string is cut to a few KiB before redaction, dropping the token the cut falls in, and says so', async () => {
    const { lines, logger } = capture();
    const key = `sk-${'x'.repeat(40)}`;
    logger.warn('long', { detail: `${'word '.repeat(819)}${key} tail` });
    await flush();
    const detail = lines[0]!.detail as string;
    expect(detail.length).toBeLessThan(4300);
    expect(detail).not.toContain('sk-xxx');
    expect(detail).toMatch(/… \[\d+ more characters; the whole text is in /);
  });

  test('PEM private keys are masked, with or without an end marker further on', () => {
    const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----';
    expect(redactString(`a ${pem} b ${pem} c`)).toBe('a [redacted-private-key] b [redacted-private-key] c');
    expect(redactString('-----BEGIN PRIVATE KEY-----\nMIIB')).toBe('-----BEGIN PRIVATE KEY-----\nMIIB');
  });

  test('the patterns still mask what they masked when a match starts after punctuation', () => {
    expect(redactString('to:jane@example.com,(eyJa.b.c) x=postgres://u:p@h/db')).toBe(
      'to:[redacted-email],([redacted-jwt]) x=postgres://u:[redacted]@h/db',
    );
  });
});
