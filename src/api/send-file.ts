import type { Response } from 'express';
import { NotFoundError } from '../app/errors';

/** Sends a file from inside `root` (dotfiles refused); a file that is not there is a 404 with `what` in its message. */
export function sendFileFrom(
  res: Response,
  root: string,
  file: string,
  what: string,
  options: { maxAge?: string; headers?: Record<string, string> } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    res.sendFile(file, { root, dotfiles: 'deny', ...options }, (err) =>
      err ? reject(new NotFoundError('not_found', `no ${what} ${file}`)) : resolve(),
    );
  });
}
