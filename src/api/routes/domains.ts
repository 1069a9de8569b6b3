import { Router, type Response } from 'express';
import { DomainName } from '../../contracts/enhance';
import type { DomainEntry, DomainsRepo } from '../../infra/db/domains-repo';
import { DomainSettings, getDomain } from '../../poet/domains';
import { BadRequestError, HttpError, NotFoundError, zodDetails } from '../errors';
import { principalOf, requireRole } from '../principal';

const view = (entry: DomainEntry) => ({ ...entry.settings, builtin: entry.builtin });

function nameParam(raw: unknown): string {
  const parsed = DomainName.safeParse(raw);
  if (!parsed.success) throw new BadRequestError('domain name must be lower_snake_case', [{ path: 'params.name', message: parsed.error.issues[0]!.message }]);
  return parsed.data;
}

function settingsBody(body: unknown, name?: string): DomainSettings {
  const parsed = DomainSettings.safeParse(body);
  if (!parsed.success) throw new BadRequestError('request body does not match the domain schema', zodDetails(parsed.error));
  if (name !== undefined && parsed.data.name !== name) {
    throw new BadRequestError('the body names another domain than the path', [{ path: 'name', message: `must be ${name}` }]);
  }
  if (getDomain(parsed.data.name)) throw new HttpError(409, 'domain_builtin', `${parsed.data.name} is a built-in domain and cannot be changed`);
  return parsed.data;
}

const tenantOf = (res: Response) => principalOf(res).tenantId;

/** Built-in domains plus the caller's tenant's custom ones; operators may add, replace and delete custom domains. */
export function domainsRouter(domains: DomainsRepo): Router {
  const router = Router();

  router.get('/api/v1/domains', async (_req, res) => {
    res.json({ domains: (await domains.list(tenantOf(res))).map(view) });
  });

  router.get('/api/v1/domains/:name', async (req, res) => {
    const entry = await domains.resolve(tenantOf(res), nameParam(req.params.name));
    if (!entry) throw new NotFoundError('domain_not_found', `no domain named ${req.params.name}`);
    res.json(view(entry));
  });

  router.post('/api/v1/domains', requireRole('operator'), async (req, res) => {
    const settings = settingsBody(req.body);
    if (!(await domains.create(tenantOf(res), settings))) throw new HttpError(409, 'domain_exists', `a domain named ${settings.name} already exists`);
    res.status(201).location(`/api/v1/domains/${settings.name}`).json(view({ settings, builtin: false }));
  });

  router.put('/api/v1/domains/:name', requireRole('operator'), async (req, res) => {
    const settings = settingsBody(req.body, nameParam(req.params.name));
    if (!(await domains.replace(tenantOf(res), settings))) throw new NotFoundError('domain_not_found', `no custom domain named ${settings.name}`);
    res.json(view({ settings, builtin: false }));
  });

  router.delete('/api/v1/domains/:name', requireRole('operator'), async (req, res) => {
    const name = nameParam(req.params.name);
    if (getDomain(name)) throw new HttpError(409, 'domain_builtin', `${name} is a built-in domain and cannot be deleted`);
    if (!(await domains.delete(tenantOf(res), name))) throw new NotFoundError('domain_not_found', `no custom domain named ${name}`);
    res.status(204).end();
  });

  return router;
}
