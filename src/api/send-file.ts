import type { Response } from 'express';
import { NotFoundError } from '../app/errors';
import { HttpError } from './errors';

/** What `send` refuses of a request for a file that is there: its conditional and range headers. */
const REFUSED: Partial<Record<number, string>> = { 412: 'precondition_failed', 416: 'range_not_satisfiable' };

/**
 * Sends a file from inside `root` (dotfiles refused); a file that is not there is a 404 with `what` in its message,
 * a failed precondition or an unsatisfiable range its own 412 or 416.
 */
export function sendFileFrom(
  res: Response,
  root: string,
  file: string,
  what: string,
  options: { maxAge?: string; headers?: Record<string, string> } = {},
): Promise<void> {
  const before = new Set(res.getHeaderNames());
  return new Promise((resolve, reject) => {
    res.sendFile(file, { root, dotfiles: 'deny', ...options }, (err) => {
      if (!err) return resolve();
      const { status, headers } = err as { status?: number; headers?: Record<string, string> };
      const refused = status === undefined ? undefined : REFUSED[status];
      if (!refused) return reject(new NotFoundError('not_found', `no ${what} ${file}`));
      // send has described the file already (its type, ETag, caching); the error body is not that file.
      for (const name of res.getHeaderNames()) if (!before.has(name)) res.removeHeader(name);
      // A 416 says the file's length in Content-Range.
      for (const [name, value] of Object.entries(headers ?? {})) res.setHeader(name, value);
      reject(new HttpError(status!, refused, `${what} ${file}: ${err.message}`));
    });
  });
}
