import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { temporalConnectionOptions } from '../../src/infra/temporal/connection';

describe('temporalConnectionOptions', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'poet-tls-'));
  const cert = path.join(dir, 'client.pem');
  const key = path.join(dir, 'client.key');
  writeFileSync(cert, 'CERT');
  writeFileSync(key, 'KEY');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const options = (env: Record<string, string>) =>
    temporalConnectionOptions(loadConfig({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', ...env }));

  test('a plain address without credentials stays plaintext (dev server, self-hosted without TLS)', () => {
    expect(options({})).toEqual({ address: 'ns.acct.tmprl.cloud:7233' });
  });

  test('an API key turns TLS on and is sent', () => {
    expect(options({ TEMPORAL_API_KEY: 'secret' })).toEqual({
      address: 'ns.acct.tmprl.cloud:7233',
      tls: { clientCertPair: undefined },
      apiKey: 'secret',
    });
  });

  test('mTLS reads the client certificate pair from the files named', () => {
    const { tls } = options({ TEMPORAL_TLS_CERT_PATH: cert, TEMPORAL_TLS_KEY_PATH: key });
    expect(tls?.clientCertPair?.crt.toString()).toBe('CERT');
    expect(tls?.clientCertPair?.key.toString()).toBe('KEY');
  });

  test('a certificate without its key is a configuration error', () => {
    expect(() => options({ TEMPORAL_TLS_CERT_PATH: cert })).toThrow(/go together/);
  });
});
