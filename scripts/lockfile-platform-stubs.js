#!/usr/bin/env node
// The registry mirror of our build machines serves only the Linux builds of platform-specific packages
// (@swc/core-darwin-arm64 and the like answer 404), so `npm install` leaves them out of package-lock.json,
// and `npm ci` then refuses the lock as out of sync. This adds a bare entry for each such optional package;
// npm ci skips them on Linux as optional packages it cannot fetch. Run after every `npm install` that
// changes the lock: `npm run lock:stubs`.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const file = path.join(__dirname, '..', 'package-lock.json');
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const added = [];
for (const [location, node] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(node.optionalDependencies ?? {})) {
    const nested = `${location ? `${location}/` : ''}node_modules/${name}`;
    const hoisted = `node_modules/${name}`;
    if (!lock.packages[nested] && !lock.packages[hoisted]) {
      lock.packages[hoisted] = { version, optional: true };
      added.push(`${name}@${version}`);
    }
  }
}
fs.writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(added.length ? `stubbed ${added.length}: ${added.join(', ')}` : 'nothing to stub');
