import winston from 'winston';

const SECRET_KEYS =
  /^(authorization|proxy-authorization|x-api-key|api_?key|key|password|passwd|secret|client_secret|token|access_token|refresh_token|id_token|jwt|cookie|set-cookie|key_hash|private_key)$/i;

// Every pattern runs in linear time on any input: a match may only start where a run of its characters starts
// (the lookbehinds), so a failed attempt is never rescanned from inside the same run.
const SECRET_PATTERNS: Array<[RegExp, string | ((match: string) => string)]> = [
  // Our API keys: keep the public id, drop the secret.
  [/\b(poet_[0-9a-f]{12})\.[A-Za-z0-9_-]{43}\b/g, '$1.[redacted]'],
  [/(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g, '[redacted-jwt]'],
  [/\b(Bearer|Basic)\s+[^\s"',]+/gi, '$1 [redacted]'],
  // Credentials in connection URLs (postgres://user:pass@host, redis://:pass@host).
  [/((?<![a-z0-9+.-])[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@/]+@/gi, '$1:[redacted]@'],
  // LLM vendors' and LangSmith's keys.
  [/\b(?:sk|rk|lsv2)[-_][A-Za-z0-9_-]{12,}/g, '[redacted-key]'],
  // Personal data: e-mail addresses, and card numbers (Luhn-valid only, so timestamps and ids stay readable).
  [/(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b/g, '[redacted-email]'],
  [/\b\d(?:[ -]?\d){12,18}\b/g, (match) => (luhnValid(match.replace(/\D/g, '')) ? '[redacted-card]' : match)],
];

const KEY_BEGIN = /-----BEGIN [A-Z ]*PRIVATE KEY-----/g;
const KEY_END = /-----END [A-Z ]*PRIVATE KEY-----/g;

/** PEM private keys, found by one forward scan: a lazy regex would rescan the rest of the text from every BEGIN that has no END. */
function redactPrivateKeys(text: string): string {
  let out = '';
  let from = 0;
  KEY_BEGIN.lastIndex = 0;
  for (let begin = KEY_BEGIN.exec(text); begin; begin = KEY_BEGIN.exec(text)) {
    KEY_END.lastIndex = KEY_BEGIN.lastIndex;
    const end = KEY_END.exec(text);
    if (!end) break;
    out += `${text.slice(from, begin.index)}[redacted-private-key]`;
    from = KEY_END.lastIndex;
    KEY_BEGIN.lastIndex = from;
  }
  return out + text.slice(from);
}

/** Longest string a log line carries: redaction and serialization stay bounded whatever a request sent. */
const MAX_LOGGED_STRING = 4096;

const TOKEN_END = /[\s"',;]/;

/** Cuts a string to `max` characters, saying how much was left out and where the whole text is. */
export function capString(value: string, max: number, whereWhole: string): string {
  if (value.length <= max) return value;
  // The cut drops the token it falls in, so no half secret escapes the patterns that would have matched it whole.
  let cut = max;
  while (cut > 0 && !TOKEN_END.test(value[cut - 1]!)) cut--;
  return `${value.slice(0, cut)}… [${value.length - cut} more characters; the whole text is in ${whereWhole}]`;
}

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
  return SECRET_PATTERNS.reduce(
    (text, [pattern, replacement]) => text.replace(pattern, replacement as (match: string) => string),
    redactPrivateKeys(value),
  );
}

function redactLogged(value: string): string {
  return redactString(
    capString(value, MAX_LOGGED_STRING, "the source it was logged from (the run's history for workflow failures)"),
  );
}

function redactValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactLogged(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1));
  // An Error's message is not an own enumerable property: keep it (masked) instead of logging {}.
  if (value instanceof Error) return { name: value.name, message: redactLogged(value.message) };
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
