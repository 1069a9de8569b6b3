import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EXPORT_MEDIA_TYPE, type ImportResult } from '../contracts/tenant-lifecycle';
import { type ApiClient, type Output, usageError } from './client';

/** An export of a large tenant takes as long as it takes; an hour bounds a stalled one. */
const EXPORT_TIMEOUT_MS = 60 * 60 * 1000;

/** `poet export [file]`: the tenant's export (NDJSON) into the file, or stdout. */
export async function exportCommand(client: ApiClient, out: Output, file: string | undefined): Promise<void> {
  const body = await client.stream('/api/v1/tenant/export', AbortSignal.timeout(EXPORT_TIMEOUT_MS), EXPORT_MEDIA_TYPE);
  const target: Writable = file === undefined ? process.stdout : createWriteStream(file);
  await pipeline(Readable.fromWeb(body as never), target, { end: file !== undefined });
  if (file !== undefined) out.note(`exported to ${file}`);
}

/** `poet import <file>`: restores an export into the key's tenant; what is there already is left as it is. */
export async function importCommand(client: ApiClient, out: Output, file: string): Promise<void> {
  const bytes = await readFile(file).catch((err: Error) => {
    throw usageError(`${file}: ${err.message}`);
  });
  const { body } = await client.request<ImportResult>('POST', '/api/v1/tenant/import', new Uint8Array(bytes), {
    'content-type': EXPORT_MEDIA_TYPE,
  });
  if (out.json) return out.out(JSON.stringify(body));
  const { imported: i, skipped: s } = body;
  out.out(
    `imported ${i.functions} functions (${i.versions} versions, ${i.feedback} feedback, ${i.events} events) and ` +
      `${i.domains} domains; already there: ${s.functions} functions, ${s.domains} domains`,
  );
}
