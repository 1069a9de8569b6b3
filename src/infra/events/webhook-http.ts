import { createHmac } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import type { DeliveryOutcome } from '../../contracts/webhooks';

/**
 * Outbound webhook HTTP: URL rules, the SSRF guard and one signed POST. The guard runs where the socket connects
 * (a `lookup` hook), so the address checked is the address used: a name that resolves to a private address, or
 * is re-pointed there after registration (DNS rebinding), is refused at delivery time.
 */

const EXCERPT_BYTES = 256;
export const USER_AGENT = 'poet-webhooks/1';

// Loopback, private, link-local (cloud metadata at 169.254.169.254), CGNAT, benchmarking, multicast and reserved.
const FORBIDDEN = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  FORBIDDEN.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const) {
  FORBIDDEN.addSubnet(net, prefix, 'ipv6');
}

/** True for an address a webhook may not reach unless private targets are allowed (BlockList maps ::ffff:a.b.c.d itself). */
export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  return FORBIDDEN.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export type UrlCheck =
  | { ok: true; url: URL }
  | { ok: false; code: 'invalid_webhook_url' | 'webhook_target_forbidden'; reason: string };

/** Registration-time rules; names are resolved only at delivery time, where the guard checks the real address. */
export function checkWebhookUrl(raw: string, allowPrivate: boolean): UrlCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, code: 'invalid_webhook_url', reason: 'not an absolute URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return { ok: false, code: 'invalid_webhook_url', reason: 'only http and https URLs' };
  if (url.username || url.password)
    return {
      ok: false,
      code: 'invalid_webhook_url',
      reason: 'credentials in the URL are refused; authenticate with the signature',
    };
  if (url.hash) return { ok: false, code: 'invalid_webhook_url', reason: 'a fragment is never sent; remove it' };
  if (!allowPrivate && forbiddenHost(url.hostname)) {
    return {
      ok: false,
      code: 'webhook_target_forbidden',
      reason: 'loopback, private and link-local targets are refused',
    };
  }
  return { ok: true, url };
}

function forbiddenHost(hostname: string): boolean {
  const host = hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
  // Loopback by definition (RFC 6761); other names are judged by their resolved addresses at delivery.
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  return isIP(host) !== 0 && isForbiddenAddress(host);
}

class TargetBlocked extends Error {}

/** A `lookup` that resolves as usual and refuses the connection when any address is forbidden. */
function guardedLookup(): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const bad = addresses.find((a) => isForbiddenAddress(a.address));
      if (bad) return callback(new TargetBlocked(`${hostname} resolves to ${bad.address}, a forbidden address`), '', 0);
      if ((options as { all?: boolean }).all)
        return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: the timestamp is signed, so a replay can be refused. */
export function signatureHeader(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export interface WebhookRequest {
  url: string;
  secret: string;
  eventType: string;
  deliveryId: string;
  attempt: number;
  body: string;
  timeoutMs: number;
  allowPrivate: boolean;
}

export interface WebhookResponse {
  outcome: DeliveryOutcome;
  /** Whether trying again may succeed: network faults, timeouts, 408, 429 and 5xx. */
  retryable: boolean;
  status_code: number | null;
  error: string | null;
  response_excerpt: string | null;
  duration_ms: number;
  /** From a 429's or 503's Retry-After. */
  retry_after_ms?: number;
}

/** One signed POST, redirects not followed; every failure is an answer, never a throw. */
export async function sendWebhook(req: WebhookRequest): Promise<WebhookResponse> {
  const started = Date.now();
  const elapsed = () => Date.now() - started;
  const url = new URL(req.url);
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  // Node connects to an IP literal without calling `lookup`: check it here. Names (localhost too) go through the guard.
  if (!req.allowPrivate && isIP(literal) !== 0 && isForbiddenAddress(literal)) {
    return blocked(`${url.hostname} is a forbidden address`, elapsed());
  }
  const timestamp = Math.floor(Date.now() / 1000);
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise<WebhookResponse>((resolve) => {
    let settled = false;
    const finish = (answer: WebhookResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve(answer);
    };
    const request = lib.request(url, {
      method: 'POST',
      agent: false,
      ...(req.allowPrivate ? {} : { lookup: guardedLookup() }),
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(req.body),
        'user-agent': USER_AGENT,
        'x-poet-event': req.eventType,
        'x-poet-delivery': req.deliveryId,
        'x-poet-attempt': String(req.attempt),
        'x-poet-signature': signatureHeader(req.secret, timestamp, req.body),
      },
    });
    const timer = setTimeout(
      () => finish(failure(`no answer within ${req.timeoutMs} ms`, null, elapsed(), true)),
      req.timeoutMs,
    );
    request.on('error', (err) => {
      if (err instanceof TargetBlocked) finish(blocked(err.message, elapsed()));
      else
        finish(
          failure(err.message || (err as NodeJS.ErrnoException).code || 'connection failed', null, elapsed(), true),
        );
    });
    request.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () =>
        finish(answerOf(res, Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString('utf8'), elapsed()));
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        // Only an excerpt is kept: the rest of a large body is not read.
        if (size >= EXCERPT_BYTES) done();
      });
      res.on('end', done);
      res.on('error', done);
    });
    request.end(req.body);
  });
}

function answerOf(res: http.IncomingMessage, excerpt: string, duration: number): WebhookResponse {
  const status = res.statusCode ?? 0;
  const response_excerpt = excerpt || null;
  if (status >= 200 && status < 300) {
    return {
      outcome: 'delivered',
      retryable: false,
      status_code: status,
      error: null,
      response_excerpt,
      duration_ms: duration,
    };
  }
  const retryable = status === 408 || status === 429 || status >= 500;
  const error = status >= 300 && status < 400 ? `redirect (${status}) not followed` : `HTTP ${status}`;
  const retryAfter = status === 429 || status === 503 ? retryAfterMs(res.headers['retry-after']) : undefined;
  return {
    ...failure(error, status, duration, retryable),
    response_excerpt,
    ...(retryAfter !== undefined ? { retry_after_ms: retryAfter } : {}),
  };
}

function failure(error: string, status: number | null, duration: number, retryable: boolean): WebhookResponse {
  return { outcome: 'failed', retryable, status_code: status, error, response_excerpt: null, duration_ms: duration };
}

function blocked(error: string, duration: number): WebhookResponse {
  return {
    outcome: 'blocked',
    retryable: false,
    status_code: null,
    error,
    response_excerpt: null,
    duration_ms: duration,
  };
}

/** Retry-After as seconds or an HTTP date. */
export function retryAfterMs(header: string | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
