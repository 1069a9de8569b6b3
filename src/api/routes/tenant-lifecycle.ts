import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { Transform } from 'node:stream';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { InvalidInputError, TooLargeError } from '../../app/errors';
import {
  EraseQuery,
  EXPORT_MEDIA_TYPE,
  FunctionDeleted,
  ImportResult,
  TenantErased,
  type ExportRecord,
} from '../../contracts/tenant-lifecycle';
import { setAuditTarget, setAuditTenant } from '../auth-audit';
import { FunctionNameParams } from '../http-input';
import { json, route, text } from '../route';

/** Writes each record as one line, waiting whenever the client reads slower than the export is read. */
async function streamRecords(res: Response, records: AsyncIterable<ExportRecord>, fileName: string): Promise<void> {
  let started = false;
  try {
    for await (const record of records) {
      if (!started) {
        res.status(200).type(EXPORT_MEDIA_TYPE).setHeader('content-disposition', `attachment; filename="${fileName}"`);
        started = true;
      }
      if (!res.write(`${JSON.stringify(record)}\n`)) await once(res, 'drain');
    }
    res.end();
  } catch (err) {
    if (!started) throw err;
    // Headers are gone: the stream ends without its `end` record, which an import refuses as cut short.
    res.destroy(err as Error);
  }
}

/** The request body as lines, refused once it exceeds `limit` bytes; only NDJSON is read. */
function bodyLines(req: Request, limit: number): AsyncIterable<string> {
  if (!req.is(EXPORT_MEDIA_TYPE))
    throw new InvalidInputError(
      `send the export as ${EXPORT_MEDIA_TYPE}`,
      [{ path: 'content-type', message: `expected ${EXPORT_MEDIA_TYPE}` }],
      'unsupported_media_type',
    );
  let bytes = 0;
  const bounded = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      done(bytes > limit ? new TooLargeError(`the export exceeds ${limit} bytes`) : null, chunk);
    },
  });
  req.on('error', (err) => bounded.destroy(err));
  return createInterface({ input: req.pipe(bounded), crlfDelay: Number.POSITIVE_INFINITY });
}

/** A tenant's data over its life: delete a function, export, import and erase the tenant (operators). */
export const tenantLifecycleRoutes = [
  route({
    operationId: 'deleteFunction',
    method: 'DELETE',
    path: '/api/v1/functions/:name',
    tags: ['tenant'],
    summary:
      'Delete a function everywhere: versions, artifacts, cache entries, feedback, events, runs and payloads (operator role)',
    auth: 'api_key',
    role: 'operator',
    params: FunctionNameParams,
    responses: { 200: json(FunctionDeleted, 'What was deleted; the audit log keeps the deletion') },
    errors: [404],
    handler: ({ params, principal }, deps) => deps.app.tenantLifecycle.deleteFunction(principal.tenantId, params.name),
  }),
  route({
    operationId: 'exportTenant',
    method: 'GET',
    path: '/api/v1/tenant/export',
    tags: ['tenant'],
    summary:
      "Stream the tenant's functions, versions (code, params, metadata, artifacts), feedback and events (operator role)",
    description:
      'NDJSON, format `poet-tenant-export` version 1 (docs/tenant-data.md): a header line, records, an `end` line with the counts.',
    auth: 'api_key',
    role: 'operator',
    responses: { 200: text([EXPORT_MEDIA_TYPE], 'The export, one JSON record per line') },
    handler: ({ res, principal }, deps) =>
      streamRecords(res, deps.app.tenantLifecycle.exportTenant(principal.tenantId), 'poet-export.ndjson'),
  }),
  route({
    operationId: 'importTenant',
    method: 'POST',
    path: '/api/v1/tenant/import',
    tags: ['tenant'],
    summary:
      'Restore an export into the tenant; what it already has is left as it is, so a second import changes nothing (operator role)',
    description: `Body: an export as ${EXPORT_MEDIA_TYPE} (what GET /api/v1/tenant/export answered), up to TENANT_IMPORT_MAX_BYTES.`,
    auth: 'api_key',
    role: 'operator',
    headers: z.object({ 'content-type': z.literal(EXPORT_MEDIA_TYPE) }),
    responses: { 200: json(ImportResult, 'What was imported and what was already there') },
    errors: [400, 413],
    handler: ({ req, principal }, deps) =>
      deps.app.tenantLifecycle.importTenant(principal.tenantId, bodyLines(req, deps.config.TENANT_IMPORT_MAX_BYTES)),
  }),
  route({
    operationId: 'eraseTenant',
    method: 'DELETE',
    path: '/api/v1/tenant',
    tags: ['tenant'],
    summary:
      "Erase the caller's tenant (GDPR): every row, artifact, cache entry, Redis key and run; audit rows kept under a pseudonym (operator role)",
    auth: 'api_key',
    role: 'operator',
    query: EraseQuery,
    responses: { 200: json(TenantErased, 'Erased') },
    handler: async ({ query, res, principal }, deps) => {
      if (query.confirm !== principal.tenantId)
        throw new InvalidInputError('confirm must repeat the tenant id', [
          { path: 'query.confirm', message: 'not the caller tenant' },
        ]);
      const erased = await deps.app.tenantLifecycle.eraseTenant(principal.tenantId);
      // This call's own audit row is written after the answer: under the pseudonym, like the tenant's other rows.
      setAuditTenant(res, erased.pseudonym);
      setAuditTarget(res, erased.pseudonym);
      return erased;
    },
  }),
];
