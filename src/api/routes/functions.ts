import type { Request } from 'express';
import { Router } from 'express';
import type { Client } from '@temporalio/client';
import { createTwoFilesPatch } from 'diff';
import { z } from 'zod';
import type { Config } from '../../config';
import { FunctionName } from '../../contracts/enhance';
import { VersionNumber } from '../../contracts/feedback';
import type { VersionsRepo } from '../../infra/db/versions-repo';
import { sha256 } from '../../infra/hash';
import { FunctionNameKey } from '../../definitions/search-attributes';
import { activateWorkflowId } from '../../definitions/workflow-ids';
import { WORKFLOW_TYPES } from '../../definitions/workflow-types';
import type { activateVersion } from '../../workflows/regenerate';
import { BadRequestError, NotFoundError, zodDetails } from '../errors';
import { waitMsOf } from '../enhancement';
import { principalOf, requireRole } from '../principal';
import type { Runs } from '../runs';

export interface FunctionsRouteDeps {
  config: Config;
  client: Client;
  runs: Runs;
  versions: VersionsRepo;
  /** Aborted when the API drains: callers still waiting get 202 and the run URL. */
  shutdown?: AbortSignal;
}

const VersionParam = z.coerce.number().pipe(VersionNumber);
const ListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  page_token: z.string().max(400).optional(),
});

export function parseParam<T>(schema: z.ZodType<T>, value: unknown, path: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new BadRequestError(`malformed ${path}`, zodDetails(parsed.error).map((d) => ({ ...d, path })));
  return parsed.data;
}

export const functionNameOf = (req: Request) => parseParam(FunctionName, req.params.name, 'name');

export const functionNotFound = (name: string) => new NotFoundError('function_not_found', `no function named ${name}`);
export const versionNotFound = (name: string, version: number) =>
  new NotFoundError('version_not_found', `function ${name} has no version ${version}`);

export function functionsRouter(deps: FunctionsRouteDeps): Router {
  const { versions, client, config } = deps;
  const router = Router();

  router.get('/api/v1/functions', async (req, res) => {
    const q = parseParam(ListQuery, req.query, 'query');
    const after = q.page_token === undefined ? undefined : decodeNameToken(q.page_token);
    const page = await versions.listFunctions(principalOf(res).tenantId, { limit: q.limit + 1, after });
    const functions = page.slice(0, q.limit);
    const last = functions[functions.length - 1];
    res.json({
      functions,
      next_page_token: page.length > q.limit && last ? Buffer.from(last.function_name).toString('base64url') : null,
    });
  });

  router.get('/api/v1/functions/:name', async (req, res) => {
    const name = functionNameOf(req);
    const fn = await versions.getFunction(principalOf(res).tenantId, name);
    if (!fn) throw functionNotFound(name);
    res.json(fn);
  });

  router.get('/api/v1/functions/:name/versions', async (req, res) => {
    const name = functionNameOf(req);
    const fn = await versions.getFunction(principalOf(res).tenantId, name);
    if (!fn) throw functionNotFound(name);
    res.json({ function_name: name, current_version: fn.current_version, versions: fn.versions });
  });

  router.get('/api/v1/functions/:name/versions/:v', async (req, res) => {
    const name = functionNameOf(req);
    const version = parseParam(VersionParam, req.params.v, 'version');
    const detail = await versions.getVersion({ tenantId: principalOf(res).tenantId, functionName: name, version });
    if (!detail) throw versionNotFound(name, version);
    res.json(detail);
  });

  router.get('/api/v1/functions/:name/versions/:a/diff/:b', async (req, res) => {
    const name = functionNameOf(req);
    const tenantId = principalOf(res).tenantId;
    const [from, to] = [parseParam(VersionParam, req.params.a, 'a'), parseParam(VersionParam, req.params.b, 'b')];
    const [a, b] = await Promise.all([from, to].map((version) => versions.getVersion({ tenantId, functionName: name, version })));
    if (!a) throw versionNotFound(name, from);
    if (!b) throw versionNotFound(name, to);
    const patch = (file: string, x: string, y: string) => createTwoFilesPatch(`v${from}/${file}`, `v${to}/${file}`, x, y);
    res.json({
      function_name: name,
      from,
      to,
      diff: {
        python: patch('code.py', a.code.python, b.code.python),
        dana: patch('code.dana', a.code.dana, b.code.dana),
        params: patch('params.json', `${JSON.stringify(a.params, null, 2)}\n`, `${JSON.stringify(b.params, null, 2)}\n`),
      },
    });
  });

  router.post('/api/v1/functions/:name/versions/:v/activate', requireRole('operator'), async (req, res) => {
    const name = functionNameOf(req);
    const version = parseParam(VersionParam, req.params.v, 'version');
    const waitMs = waitMsOf(req, config);
    const tenantId = principalOf(res).tenantId;
    const source = await versions.versionSource({ tenantId, functionName: name, version });
    if (!source) throw versionNotFound(name, version);
    const workflowId = activateWorkflowId(sha256(tenantId), name, version);
    const handle = await client.workflow.start<typeof activateVersion>(WORKFLOW_TYPES.activate, {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      workflowId,
      workflowIdConflictPolicy: 'USE_EXISTING',
      args: [{ tenant_id: tenantId, function_name: name, version }],
      // The owner, readable from a describe: another tenant asking for this run gets a 404.
      memo: { tenant_id: tenantId },
      typedSearchAttributes: [{ key: FunctionNameKey, value: name }],
      staticSummary: `activate ${name} v${version}`,
    });
    await deps.runs.answer(res, handle, waitMs, deps.shutdown);
  });

  return router;
}

function decodeNameToken(token: string): string {
  const name = Buffer.from(token, 'base64url').toString('utf8');
  if (!FunctionName.safeParse(name).success) throw new BadRequestError('page_token is not one this API issued', undefined, 'invalid_page_token');
  return name;
}
