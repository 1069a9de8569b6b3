import os from 'node:os';
import { ConfigError, loadConfig } from '../../src/config';
import { startStack, type TestStack } from '../helpers/stack';

/** An address of this machine that is not loopback: what "anyone on the network" would connect to. */
function networkAddress(): string | undefined {
  return Object.values(os.networkInterfaces())
    .flat()
    .find((i) => i !== undefined && !i.internal && i.family === 'IPv4')?.address;
}

async function reachable(url: string): Promise<boolean> {
  return fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
    () => true,
    () => false,
  );
}

describe('binding', () => {
  test('AUTH_MODE=disabled binds the API and the worker to loopback; with authentication on, all interfaces', () => {
    expect(loadConfig({ AUTH_MODE: 'disabled' })).toMatchObject({ HOST: '127.0.0.1', WORKER_HTTP_HOST: '127.0.0.1' });
    expect(loadConfig({ AUTH_MODE: 'api_keys' })).toMatchObject({ HOST: '0.0.0.0', WORKER_HTTP_HOST: '0.0.0.0' });
    expect(loadConfig({ AUTH_MODE: 'disabled', HOST: '::1', WORKER_HTTP_HOST: 'localhost' })).toMatchObject({
      HOST: '::1',
      WORKER_HTTP_HOST: 'localhost',
    });
  });

  test.each([
    ['HOST', '0.0.0.0'],
    ['HOST', '192.0.2.10'],
    ['WORKER_HTTP_HOST', '0.0.0.0'],
  ])('AUTH_MODE=disabled refuses %s=%s with a clear message', (key, host) => {
    const load = () => loadConfig({ AUTH_MODE: 'disabled', [key]: host });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(`${key}=${host} would expose an unauthenticated service (AUTH_MODE=disabled) to the network`);
  });
});

describe('the real API and worker without authentication', () => {
  let stack: TestStack;
  beforeAll(async () => {
    // '' unsets the helper's loopback HOST: the defaults decide.
    stack = await startStack('localdefaults', { AUTH_MODE: 'disabled', HOST: '', WORKER_HTTP_HOST: '' });
  });
  afterAll(() => stack.close());

  test('answer on loopback and are not reachable from the network', async () => {
    const address = networkAddress();
    expect(address).toBeDefined();
    for (const url of [stack.url, stack.worker.http.url]) {
      const { port, hostname } = new URL(url);
      expect(hostname).toBe('127.0.0.1');
      expect(await reachable(`${url}/health/live`)).toBe(true);
      expect(await reachable(`http://${address}:${port}/health/live`)).toBe(false);
    }
  });
});
