import { z } from 'zod';
import type { DomainEntry, DomainsRepo } from '../infra/db/domains-repo';
import { DomainSettings, getDomain } from '../poet/domains';
import { ConflictError, InvalidInputError, NotFoundError } from './errors';

export { DomainSettings };

/** A domain as the API shows it: its settings, and whether it is built in or the tenant's own. */
export const DomainView = DomainSettings.extend({ builtin: z.boolean() }).meta({ id: 'Domain' });
export type DomainView = z.infer<typeof DomainView>;

const view = (entry: DomainEntry): DomainView => ({ ...entry.settings, builtin: entry.builtin });

const builtinRefused = (name: string, verb: string) =>
  new ConflictError('domain_builtin', `${name} is a built-in domain and cannot be ${verb}`);

/** Built-in domains plus each tenant's custom ones; only custom domains change. */
export class Domains {
  constructor(private readonly repo: DomainsRepo) {}

  async list(tenantId: string): Promise<DomainView[]> {
    return (await this.repo.list(tenantId)).map(view);
  }

  async get(tenantId: string, name: string): Promise<DomainView> {
    const entry = await this.repo.resolve(tenantId, name);
    if (!entry) throw new NotFoundError('domain_not_found', `no domain named ${name}`);
    return view(entry);
  }

  async create(tenantId: string, settings: DomainSettings): Promise<DomainView> {
    if (getDomain(settings.name)) throw builtinRefused(settings.name, 'changed');
    if (!(await this.repo.create(tenantId, settings)))
      throw new ConflictError('domain_exists', `a domain named ${settings.name} already exists`);
    return view({ settings, builtin: false });
  }

  async replace(tenantId: string, name: string, settings: DomainSettings): Promise<DomainView> {
    if (settings.name !== name)
      throw new InvalidInputError('the body names another domain than the path', [
        { path: 'name', message: `must be ${name}` },
      ]);
    if (getDomain(name)) throw builtinRefused(name, 'changed');
    if (!(await this.repo.replace(tenantId, settings)))
      throw new NotFoundError('domain_not_found', `no custom domain named ${name}`);
    return view({ settings, builtin: false });
  }

  async delete(tenantId: string, name: string): Promise<void> {
    if (getDomain(name)) throw builtinRefused(name, 'deleted');
    if (!(await this.repo.delete(tenantId, name)))
      throw new NotFoundError('domain_not_found', `no custom domain named ${name}`);
  }
}
