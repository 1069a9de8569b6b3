import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, type SECRET_SETTINGS } from '../../src/config';

/** Every secret setting reads from `<NAME>_FILE` too (mounted Kubernetes and Docker secrets). */
const dir = mkdtempSync(path.join(os.tmpdir(), 'poet-secret-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, content: string) => {
  const at = path.join(dir, name);
  writeFileSync(at, content, { mode: 0o600 });
  return at;
};

test('each declared secret setting is read from its file, one trailing newline dropped', () => {
  const key = `k1:${Buffer.alloc(32, 3).toString('base64')}`;
  const values: Record<(typeof SECRET_SETTINGS)[number], string> = {
    DATABASE_URL: 'postgres://poet:s3cret@db:5432/poet',
    REDIS_URL: 'redis://:s3cret@redis:6379',
    S3_SECRET_ACCESS_KEY: 's3-secret',
    TEMPORAL_API_KEY: 'temporal-key',
    PARTNER_JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----',
    LANGSMITH_API_KEY: 'ls-key',
    ENCRYPTION_KEYS: key,
  };
  const env = Object.fromEntries(Object.entries(values).map(([name, v]) => [`${name}_FILE`, file(name, `${v}\n`)]));
  const config = loadConfig(env);
  for (const [name, value] of Object.entries(values)) expect(config[name as keyof typeof values]).toBe(value);
  expect(config.encryption?.activeKeyId).toBe('k1');
});

test("an LLM provider's key variable accepts _FILE as well", () => {
  const providers = JSON.stringify([
    {
      name: 'p',
      base_url: 'http://127.0.0.1:1/v1',
      model: 'm',
      api_key_env: 'P_API_KEY',
      price_in_per_1k: 0,
      price_out_per_1k: 0,
    },
  ]);
  const config = loadConfig({ LLM_PROVIDERS: providers, P_API_KEY_FILE: file('p', 'sk-from-file\n') });
  expect(config.llmProviders[0]!.api_key).toBe('sk-from-file');
});

test('both the value and its file, or an unreadable file, is a clear error that shows no secret', () => {
  const both = () => loadConfig({ DATABASE_URL: 'postgres://a', DATABASE_URL_FILE: file('db', 'postgres://b') });
  expect(both).toThrow(ConfigError);
  expect(both).toThrow('DATABASE_URL: set both DATABASE_URL and DATABASE_URL_FILE; set one');
  const missing = path.join(dir, 'absent');
  expect(() => loadConfig({ REDIS_URL_FILE: missing })).toThrow(`REDIS_URL_FILE: cannot read ${missing} (ENOENT)`);
  expect(() => loadConfig({ ENCRYPTION_KEYS_FILE: file('bad', 'k:dG9vIHNob3J0') })).toThrow(
    /ENCRYPTION_KEYS: key k is not 32 bytes/,
  );
});
