#!/usr/bin/env node
// Regenerates the tables of the docs that come from the code: the environment variables of docs/configuration.md
// (from the config schema, src/config.ts) and the routes of docs/api.md (from the route declarations, src/api/routes/).
// Runs on the built dist/ like the benchmarks do, so no TypeScript loader is needed: `npm run docs` builds first.
// --check: write nothing, exit 1 when a file is stale (the jest tests do the same from the sources).
const { readFileSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const { withConfigTable } = require('../dist/config-docs');
const { withRouteTable } = require('../dist/api/route-docs');
const { ROUTES } = require('../dist/api/routes');

const targets = [
  ['configuration.md', withConfigTable],
  ['api.md', (markdown) => withRouteTable(markdown, ROUTES)],
];
let stale = false;
for (const [name, render] of targets) {
  const file = path.join(__dirname, '..', 'docs', name);
  const current = readFileSync(file, 'utf8');
  const next = render(current);
  if (process.argv.includes('--check')) {
    if (next !== current) {
      console.error(`docs/${name} is stale: run npm run docs`);
      stale = true;
    }
  } else if (next !== current) {
    writeFileSync(file, next);
    console.log(`docs/${name}: table regenerated`);
  } else {
    console.log(`docs/${name}: up to date`);
  }
}
if (stale) process.exit(1);
