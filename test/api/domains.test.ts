import { DomainsRepo } from '../../src/infra/db/domains-repo';
import { getJson, postJson, requestJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';

let stack: TestStack;
let base: string;

beforeAll(async () => {
  stack = await startStack('domains');
  base = `${stack.url}/api/v1/domains`;
});
afterAll(() => stack.close());

const send = (method: 'PUT' | 'DELETE', url: string, body?: unknown) => requestJson(method, url, body);

const custom = (name: string, retries = 1) => ({
  name,
  description: 'Lab instruments: readings within range, one quick retry.',
  perceive: { ranges: [{ param: 'reading', min: 0, max: 10 }] },
  operate: { retries, timeout_s: 5 },
});

describe('domains API', () => {
  test('lists every built-in domain with its documented settings, and answers one by name', async () => {
    const list = await getJson(base);
    expect(list.status).toBe(200);
    const names = list.body.domains.map((d: { name: string }) => d.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'base_reliability',
        'llm_optimization',
        'financial_services',
        'healthcare',
        'ml_monitoring',
        'building_management',
      ]),
    );
    for (const domain of list.body.domains) {
      expect(domain).toMatchObject({
        builtin: true,
        description: expect.any(String),
        perceive: expect.any(Object),
        operate: expect.any(Object),
        enforce: expect.any(Object),
        train: expect.any(Object),
      });
    }
    const one = await getJson(`${base}/financial_services`);
    expect(one.body).toMatchObject({ name: 'financial_services', enforce: { audit_trail: true } });
    expect((await getJson(`${base}/astrology`)).status).toBe(404);
    expect((await getJson(`${base}/Bad-Name`)).status).toBe(400);
  });

  test('a custom domain is created, used by enhance, replaced (a new enhancement, not a cache hit) and deleted', async () => {
    const name = `lab_${uniqueSuffix()}`;
    const created = await postJson(base, custom(name));
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/api/v1/domains/${name}`);
    expect(created.body).toMatchObject({
      name,
      builtin: false,
      operate: { retries: 1, retry_on: ['TimeoutError', 'ConnectionError'] },
    });
    expect((await postJson(base, custom(name))).status).toBe(409);
    expect((await getJson(base)).body.domains.map((d: { name: string }) => d.name)).toContain(name);

    const fn = `read_${uniqueSuffix()}`;
    const request = {
      function_name: fn,
      original_code: `def ${fn}(reading: float) -> float:\n    return reading * 2\n`,
      domain: name,
    };
    const first = await postJson(`${stack.url}/api/v1/functions/enhance`, request);
    expect(first.status).toBe(200);
    expect(first.body.metadata).toMatchObject({
      domain: name,
      params: { retries: 1, timeout: 5, ranges: [{ param: 'reading', min: 0, max: 10 }] },
    });

    const replaced = await send('PUT', `${base}/${name}`, custom(name, 2));
    expect(replaced.status).toBe(200);
    const second = await postJson(`${stack.url}/api/v1/functions/enhance`, request);
    expect(second.body.metadata).toMatchObject({ cache: 'miss', params: { retries: 2 } });
    expect(second.body.version).toBe(2);

    expect((await send('DELETE', `${base}/${name}`)).status).toBe(204);
    expect((await send('DELETE', `${base}/${name}`)).status).toBe(404);
    const gone = await postJson(`${stack.url}/api/v1/functions/enhance`, request);
    expect(gone.status).toBe(400);
    expect(gone.body.error.code).toBe('unknown_domain');
    expect(gone.body.error.details[0].valid).not.toContain(name);
  });

  test('bad domain bodies answer 400 with the offending path; built-in domains cannot be changed', async () => {
    const name = `x_${uniqueSuffix()}`;
    const badRetry = await postJson(base, { ...custom(name), operate: { retry_on: ['ValueError'] } });
    expect(badRetry.status).toBe(400);
    expect(badRetry.body.error.details.map((d: { path: string }) => d.path)).toContain('operate.retry_on');
    const badRange = await postJson(base, { ...custom(name), perceive: { ranges: [{ param: 'x', min: 'low' }] } });
    expect(badRange.status).toBe(400);
    expect((await postJson(base, { description: 'no name' })).status).toBe(400);
    expect((await send('PUT', `${base}/${name}`, custom('other'))).status).toBe(400);
    expect((await send('PUT', `${base}/${name}`, custom(name))).status).toBe(404);
    expect((await postJson(base, custom('healthcare'))).status).toBe(409);
    expect((await send('DELETE', `${base}/healthcare`)).status).toBe(409);
  });

  test('custom domains belong to one tenant', async () => {
    const repo = new DomainsRepo(stack.pool);
    const name = `own_${uniqueSuffix()}`;
    const settings = (await postJson(base, custom(name))).body;
    expect(await repo.resolve('default', name)).toMatchObject({ builtin: false });
    expect(await repo.resolve('other-tenant', name)).toBeUndefined();
    expect((await repo.list('other-tenant')).map((d) => d.settings.name)).not.toContain(settings.name);
    expect(await repo.delete('other-tenant', name)).toBe(false);
  });
});
