/**
 * The groups of operations in the OpenAPI document, each described once here; a route's `tags` may name only these.
 * The order is the document's (and Swagger UI's).
 */
export const TAGS = {
  enhance: 'Enhance functions, one or a batch; follow, list and cancel their runs',
  versions: "A tenant's functions and their versions: code, diffs, activation, feedback and events",
  domains: 'Domains: the built-in ones and custom ones with their own settings',
  webhooks: 'Webhooks: signed event deliveries to a receiver, and their delivery log',
  partner: "The Aitomatic partner routes, authenticated with the partner's RS256 JWT",
  cache: "The enhancement cache of the caller's tenant: hit rates per layer, invalidation",
  stats: "Generation statistics and daily spend of the caller's tenant",
  schedules: 'Temporal schedules the service applies, such as the periodic re-evaluation',
  tenant:
    "The caller's tenant as a whole: its settings, delete a function, export and import the tenant, erase it (operators)",
  admin: "API keys and the audit log of the caller's tenant",
  health: 'Liveness and readiness probes (public)',
  observability: 'Metrics, this document and its docs page, the dashboard and the payload codec',
} as const;

export type Tag = keyof typeof TAGS;
