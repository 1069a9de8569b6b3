import {
  OutcomeBatch,
  OutcomeIngested,
  OutcomesQuery,
  Resolution,
  ResolveQuery,
  VersionOutcomes,
} from '../../contracts/outcomes';
import { FunctionNameParams, VersionParam } from '../http-input';
import { callerOf } from '../principal';
import { json, route } from '../route';

/** Field outcomes of versions (reported by the POET runtime where enhanced code runs) and which version a unit runs. */
export const outcomesRoutes = [
  route({
    operationId: 'reportOutcomes',
    method: 'POST',
    path: '/api/v1/outcomes',
    tags: ['versions'],
    summary: "Outcome reports of enhanced functions' calls, batched by the POET runtime (reporter role, or any other)",
    description:
      'Each report is one call: version, success, exception class, latency and attempts. Reports are added to per-minute ' +
      "rows of their version; those for versions the tenant does not have are refused and listed. The tenant's budget " +
      'counts each report (`RATE_LIMIT_TENANT_REPORTS_PER_MINUTE`).',
    auth: 'api_key',
    role: 'reporter',
    rate: 'report',
    body: OutcomeBatch,
    responses: { 200: json(OutcomeIngested, 'Stored, but for the reports listed as rejected') },
    handler: async ({ body, res, principal }, deps) => {
      // The request paid one point on arrival; the other reports are charged before any is stored.
      await deps.limits.charge(res, callerOf(principal), 'report', body.reports.length - 1);
      return deps.app.outcomes.ingest(principal.tenantId, body);
    },
  }),
  route({
    operationId: 'getVersionOutcomes',
    method: 'GET',
    path: '/api/v1/functions/:name/versions/:v/outcomes',
    tags: ['versions'],
    summary: 'What the field reported for a version over a window: success rate, p50/p95 latency, attempts, error mix',
    auth: 'api_key',
    role: 'viewer',
    params: FunctionNameParams.extend({ v: VersionParam }),
    query: OutcomesQuery,
    responses: { 200: json(VersionOutcomes, "The version's figures") },
    errors: [404],
    handler: ({ params, query, principal }, deps) =>
      deps.app.outcomes.forVersion(principal.tenantId, params.name, params.v, query),
  }),
  route({
    operationId: 'resolveVersion',
    method: 'GET',
    path: '/api/v1/functions/:name/resolve',
    tags: ['versions'],
    summary: 'Which version a unit (a caller, a user, a job) should run, sticky per unit, with its code URLs',
    auth: 'api_key',
    role: 'viewer',
    params: FunctionNameParams,
    query: ResolveQuery,
    responses: { 200: json(Resolution, 'The version for this unit') },
    errors: [404],
    handler: ({ params, query, principal }, deps) =>
      deps.app.resolver.resolve(principal.tenantId, params.name, query.unit),
  }),
];
