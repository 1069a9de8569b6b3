import { randomUUID } from 'node:crypto';
import type { RequestHandler, Response } from 'express';

const CLIENT_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Every request gets an id (the caller's X-Request-Id when well-formed): answers, logs and the audit log carry it. */
export function requestId(): RequestHandler {
  return (req, res, next) => {
    const given = req.get('x-request-id');
    const id = given && CLIENT_ID.test(given) ? given : randomUUID();
    res.locals.requestId = id;
    res.setHeader('X-Request-Id', id);
    next();
  };
}

export function requestIdOf(res: Response): string | null {
  return typeof res.locals.requestId === 'string' ? res.locals.requestId : null;
}
