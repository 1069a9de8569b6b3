import express, { type RequestHandler } from 'express';
import { InvalidInputError } from '../app/errors';

/** Deepest nesting of arrays and objects a body may have: far beyond any real request, far below a stack overflow in the schemas. */
export const MAX_JSON_DEPTH = 64;

const OPEN_BRACKET = 0x5b;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Nesting depth of a JSON text, in one pass over its bytes (brackets inside strings do not count). */
function exceedsDepth(body: Buffer, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const byte = body[i]!;
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) inString = true;
    else if (byte === OPEN_BRACKET || byte === OPEN_BRACE) {
      if (++depth > max) return true;
    } else if (byte === CLOSE_BRACKET || byte === CLOSE_BRACE) depth--;
  }
  return false;
}

/**
 * JSON bodies, refused before they are parsed when the bytes are not UTF-8 (the decoder would turn them into
 * U+FFFD, changing submitted code silently) or nest deeper than MAX_JSON_DEPTH (the recursive schemas would overflow the stack).
 */
export function jsonBody(limitBytes: number): RequestHandler {
  return express.json({
    limit: limitBytes,
    strict: true,
    verify: (_req, _res, body) => {
      try {
        utf8.decode(body);
      } catch {
        throw new InvalidInputError('request body is not valid UTF-8', undefined, 'invalid_json');
      }
      if (exceedsDepth(body, MAX_JSON_DEPTH))
        throw new InvalidInputError(`request body nests deeper than ${MAX_JSON_DEPTH} levels`);
    },
  });
}
