#!/usr/bin/env node
// Regenerates the environment-variable table of docs/configuration.md from the config schema (src/config.ts).
// Runs on the built dist/ like the benchmarks do, so no TypeScript loader is needed: `npm run docs` builds first.
// --check: write nothing, exit 1 when the file is stale (the jest test does the same from the sources).
const { readFileSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const { withConfigTable } = require('../dist/config-docs');

const file = path.join(__dirname, '..', 'docs', 'configuration.md');
const current = readFileSync(file, 'utf8');
const next = withConfigTable(current);
if (process.argv.includes('--check')) {
  if (next !== current) {
    console.error('docs/configuration.md is stale: run npm run docs');
    process.exit(1);
  }
} else if (next !== current) {
  writeFileSync(file, next);
  console.log('docs/configuration.md: table regenerated');
} else {
  console.log('docs/configuration.md: up to date');
}
