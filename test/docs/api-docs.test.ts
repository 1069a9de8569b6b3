import { readFileSync } from 'node:fs';
import path from 'node:path';
import { withRouteTable } from '../../src/api/route-docs';
import { ROUTES } from '../../src/api/routes';

// docs/api.md's route table is generated from the route declarations; this keeps the checked-in copy honest.
// Runs from the sources (ts-jest), so it needs no build and no running services.
const file = path.join(__dirname, '..', '..', 'docs', 'api.md');

describe('docs/api.md', () => {
  test('its route table is what `npm run docs` generates from src/api/routes/', () => {
    const current = readFileSync(file, 'utf8');
    // On failure: run `npm run docs` and commit docs/api.md.
    expect(current).toBe(withRouteTable(current, ROUTES));
  });

  test('every operation has its own stable camelCase id', () => {
    const ids = ROUTES.map((r) => r.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z][A-Za-z0-9]*$/);
  });
});
