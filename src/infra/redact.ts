import winston from 'winston';

const SECRET_KEYS = /^(authorization|proxy-authorization|x-api-key|api_?key|key|password|passwd|secret|client_secret|token|access_token|refresh_token|id_token|jwt|cookie|set-cookie|key_hash|private_key)$/i;

const SECRET_PATTERNS: Array<[RegExp, string | ((match: string) => string)]> = [
  // Our API keys: keep the public id, drop the secret.
  [/\b(poet_[0-9a-f]{12})\.[A-Za-z0-9_-]{43}\b/g, '$1.[redacted]'],
  [/\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g, '[redacted-jwt]'],
  [/\b(Bearer|Basic)\s+[^\s"',]+/gi, '$1 [redacted]'],
  // Credentials in connection URLs (postgres://user:pass@host, redis://:pass@host).
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@/]+@/gi, '$1:[redacted]@'],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, '[redacted-private-key]'],
  // LLM vendors' and LangSmith's keys.
  [/\b(?:sk|rk|lsv2)[-_][A-Za-z0-9_-]{12,}/g, '[redacted-key]'],
  // Personal data: e-mail addresses, and card numbers (Luhn-valid only, so timestamps and ids stay readable).
  [/\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b/g, '[redacted-email]'],
  [/\b\d(?:[ -]?\d){12,18}\b/g, (match) => (luhnValid(match.replace(/\D/g, '')) ? '[redacted-card]' : match)],
];

function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

export function redactString(value: string): string {
  return SECRET_PATTERNS.reduce((text, [pattern, replacement]) => text.replace(pattern, replacement as (match: string) => string), value);
}

function redactValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactString(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1));
  // An Error's message is not an own enumerable property: keep it (masked) instead of logging {}.
  if (value instanceof Error) return { name: value.name, message: redactString(value.message) };
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
