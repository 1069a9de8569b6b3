import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { UseCases } from '../app';
import type { Config } from '../config';
import type { Role } from '../contracts/security';
import type { Checks } from '../http/health';
import type { Metrics } from '../http/observability';
import { InvalidInputError } from '../app/errors';
import { zodDetails } from './errors';
import { MissingRoleError, hasRole, principalOf, type Principal } from './principal';
import type { RateClass, RateLimits } from './rate-limit';
import type { Tag } from './tags';

/**
 * A route, declared once: authentication, roles, rate classes, parsing, the OpenAPI document and docs/api.md's
 * table all read these declarations. A path is Express-style: `:param` at the start of a segment is a parameter,
 * a colon inside one (`enhance:batch`) is literal.
 */
export type AuthScheme = 'public' | 'api_key' | 'partner_jwt';
export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** One documented answer: its media types with their schemas (none for an empty body) and its headers. */
export interface ResponseSpec {
  description: string;
  content?: Record<string, z.ZodType>;
  headers?: z.ZodObject;
}

export const json = (schema: z.ZodType, description: string, headers?: z.ZodObject): ResponseSpec => ({
  description,
  content: { 'application/json': schema },
  ...(headers ? { headers } : {}),
});
export const text = (mediaTypes: string[], description: string, headers?: z.ZodObject): ResponseSpec => ({
  description,
  content: Object.fromEntries(mediaTypes.map((type) => [type, z.string()])),
  ...(headers ? { headers } : {}),
});
export const empty = (description: string): ResponseSpec => ({ description });

/** What every handler can reach: the use cases and the few HTTP-level services. */
export interface RouteDeps {
  app: UseCases;
  config: Config;
  limits: RateLimits;
  checks: Checks;
  metrics: Metrics;
  /** Every mounted route, for the OpenAPI document. */
  routes: readonly AnyRoute[];
  /** Fires when the API starts draining: waiting callers get the run URL, open streams end. */
  shutdown?: AbortSignal;
}

export interface RouteContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  req: Request;
  res: Response;
  /** The authenticated caller; only public routes have none. */
  readonly principal: Principal;
}

type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface Route<
  P extends z.ZodObject | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
> {
  /** Stable camelCase name of the operation in the OpenAPI document. */
  operationId: string;
  method: Method;
  path: string;
  tags: Tag[];
  summary: string;
  description?: string;
  auth: AuthScheme;
  /** Least role of an api_key route; partner tokens act as an agent of the partner tenant. */
  role?: Role;
  /** Extra per-caller budget on top of the per-key and per-IP ones. */
  rate?: RateClass;
  params?: P;
  query?: Q;
  body?: B;
  /** Request headers the route reads, for the document. */
  headers?: z.ZodObject;
  responses: Record<number, ResponseSpec>;
  /** Error statuses beyond those the declaration implies (400 for parsed input, 401/403/429/503 for credentials, 500). */
  errors?: number[];
  /**
   * Answers with what it returns as JSON (200), or writes the response itself and returns nothing
   * (other statuses, streams, files).
   */
  handler(ctx: RouteContext<Parsed<P>, Parsed<Q>, Parsed<B>>, deps: RouteDeps): unknown;
}

// biome-ignore lint/suspicious/noExplicitAny: a list holds routes of every schema; each was checked against its own by route()
export type AnyRoute = Route<any, any, any>;

/** Checks a declaration against its own schemas' types; the list then holds it as an AnyRoute. */
export function route<
  P extends z.ZodObject | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
>(declaration: Route<P, Q, B>): AnyRoute {
  return declaration as AnyRoute;
}

const PARSE_MESSAGE = {
  params: 'malformed path parameter',
  query: 'invalid query',
  body: 'request body does not match the schema',
} as const;

/** Input parsed by its schema; anything else is a 400 naming each offending path (`query.<field>`, `params.<name>`, body fields bare). */
function parse(schema: z.ZodType | undefined, value: unknown, where: keyof typeof PARSE_MESSAGE): unknown {
  if (!schema) return undefined;
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const details = zodDetails(parsed.error);
  throw new InvalidInputError(
    PARSE_MESSAGE[where],
    where === 'body'
      ? details
      : details.map((d) => ({ ...d, path: d.path === '(body)' ? where : `${where}.${d.path}` })),
  );
}

/** In Express 5 paths `:name` is a parameter anywhere; a colon inside a segment is escaped to stay literal. */
const expressPath = (path: string) => path.replace(/([^/]):/g, '$1\\:');

/** The routes as an Express router: role, then params, query and body, then the handler. */
export function mountRoutes(routes: readonly AnyRoute[], deps: RouteDeps): Router {
  const router = Router();
  for (const declared of routes) {
    const method = declared.method.toLowerCase() as Lowercase<Method>;
    router[method](expressPath(declared.path), async (req: Request, res: Response) => {
      // Authentication enforced the role already; this keeps a router mounted on its own just as strict.
      if (declared.role && !hasRole(principalOf(res), declared.role)) throw new MissingRoleError(declared.role);
      const ctx = {
        params: parse(declared.params, req.params, 'params'),
        query: parse(declared.query, req.query, 'query'),
        body: parse(declared.body, req.body, 'body'),
        req,
        res,
        get principal() {
          return principalOf(res);
        },
      };
      const answer = await declared.handler(ctx, deps);
      if (answer !== undefined) res.json(answer);
    });
  }
  return router;
}

export interface RouteMatch {
  rule: Pick<AnyRoute, 'method' | 'path' | 'auth' | 'role' | 'rate'>;
  params: Record<string, string>;
  /** False for a request no declaration matches: the fail-closed fallback applies. */
  known: boolean;
}

function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const segment = want[i]!;
    if (segment.startsWith(':')) {
      if (got[i] === '') return undefined;
      params[segment.slice(1)] = got[i]!;
    } else if (segment !== got[i]) {
      return undefined;
    }
  }
  return params;
}

/** The declaration of a request; HEAD follows GET as Express does. An unknown route needs an admin key (fail closed). */
export function matchRoute(routes: readonly AnyRoute[], method: string, path: string): RouteMatch {
  const wanted = method === 'HEAD' ? 'GET' : method;
  // Express ignores one trailing slash by default; so does the match.
  const normalized = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  for (const rule of routes) {
    if (rule.method !== wanted) continue;
    const params = matchPath(rule.path, normalized);
    if (params) return { rule, params, known: true };
  }
  return {
    rule: { method: wanted as Method, path: '(unknown route)', auth: 'api_key', role: 'admin' },
    params: {},
    known: false,
  };
}
