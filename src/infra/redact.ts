import winston from 'winston';

const SECRET_KEYS = /^(authorization|proxy-authorization|x-api-key|api_?key|key|password|passwd|secret|client_secret|token|access_token|refresh_token|id_token|jwt|cookie|set-cookie|key_hash|private_key)$/i;

const SECRET_PATTERNS: Array<[RegExp, string]> = [
  // Our API keys: keep the public id, drop the secret.
  [/\b(poet_[0-9a-f]{12})\.[A-Za-z0-9_-]{43}\b/g, '$1.[redacted]'],
  [/\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g, '[redacted-jwt]'],
  [/\b(Bearer|Basic)\s+[^\s"',]+/gi, '$1 [redacted]'],
  // Credentials in connection URLs (postgres://user:pass@host, redis://:pass@host).
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@/]+@/gi, '$1:[redacted]@'],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, '[redacted-private-key]'],
];

export function redactString(value: string): string {
  return SECRET_PATTERNS.reduce((text, [pattern, replacement]) => text.replace(pattern, replacement), value);
}

function redactValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactString(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] = SECRET_KEYS.test(key) ? '[redacted]' : redactValue(inner, depth + 1);
  }
  return out;
}

/** Masks secrets in every log line: by field name (authorization, token, password...) and by shape (keys, JWTs, URL passwords). */
export const redactSecrets = winston.format((info) => {
  for (const key of Object.keys(info)) {
    info[key] = SECRET_KEYS.test(key) ? '[redacted]' : redactValue(info[key], 0);
  }
  return info;
});
