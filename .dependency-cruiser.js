'use strict';
// The layer rules: data flows route -> use case -> workflow -> activities -> adapters, never back.
// `npm run lint` (part of `npm test`) fails on any violation.
const forbid = (name, comment, from, to) => ({ name, comment, severity: 'error', from, to });

module.exports = {
  forbidden: [
    forbid('no-cycles', 'A cycle makes two modules one; split what both need into a third.', {}, { circular: true }),
    forbid(
      'contracts-import-nothing-of-ours',
      'Contracts are the zod schemas every layer shares; they depend on nothing of ours.',
      { path: '^src/contracts/' },
      { path: '^src/', pathNot: '^src/contracts/' },
    ),
    forbid(
      'definitions-are-zod-free',
      'Temporal definitions are imported by workflows, the API and the CLI: no zod, no implementation.',
      { path: '^src/definitions/' },
      { path: ['^node_modules/zod/', '^src/(?!definitions/|contracts/)'], dependencyTypesNot: ['type-only'] },
    ),
    forbid(
      'workflows-no-node',
      'Workflow code runs in the deterministic sandbox: no Node built-ins.',
      { path: '^src/workflows/' },
      { dependencyTypes: ['core'] },
    ),
    forbid(
      'workflows-no-implementation',
      'Workflows reach activities through proxies: types only from activities, nothing from adapters or processes.',
      { path: '^src/workflows/' },
      { path: '^src/(activities|infra|api|app|worker|cli|http)/', dependencyTypesNot: ['type-only'] },
    ),
    forbid(
      'api-no-infra',
      'Routes parse, call a use case and answer; adapters are reached only through the application layer, which the composition root builds.',
      { path: '^src/api/', pathNot: '^src/api/(server|main)[.]ts$' },
      { path: '^src/(infra|activities|worker|cli)/', pathNot: '^src/infra/observability/' },
    ),
    forbid(
      'api-observability-types-only',
      'The API logs and counts through the logger and metrics the composition root hands it.',
      { path: '^src/api/', pathNot: '^src/api/(server|main)[.]ts$' },
      { path: '^src/infra/observability/', dependencyTypesNot: ['type-only'] },
    ),
    forbid(
      'api-no-workflow-code',
      'The API starts workflows by type name; it imports workflow types only.',
      { path: '^src/api/' },
      { path: '^src/workflows/', dependencyTypesNot: ['type-only'] },
    ),
    forbid(
      'app-not-http',
      'Use cases know nothing of HTTP.',
      { path: '^src/app/' },
      { path: ['^src/(api|http|worker|cli)/', '^node_modules/express/'] },
    ),
    forbid(
      'adapters-point-down',
      'Adapters serve the layers above them and import none of them.',
      { path: '^src/(infra|http)/' },
      { path: '^src/(api|app|activities|workflows|worker|cli)/' },
    ),
    forbid(
      'activities-no-entry-points',
      'Activities are built from injected adapters; they import no process entry point.',
      { path: '^src/activities/' },
      { path: '^src/(api|app|worker|cli)/' },
    ),
    forbid(
      'worker-not-api',
      'The worker process shares http/ with the API, never the API itself.',
      { path: '^src/worker/' },
      { path: '^src/(api|app)/' },
    ),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^dist/' },
  },
};
