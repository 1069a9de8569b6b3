import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigFields } from '../../src/config';
import { renderConfigTable, withConfigTable } from '../../src/config-docs';

// docs/configuration.md's table is generated from the config schema; this keeps the checked-in copy honest.
// Runs from the sources (ts-jest), so it needs no build and no running services.
const file = path.join(__dirname, '..', '..', 'docs', 'configuration.md');

describe('docs/configuration.md', () => {
  test('its table is what `npm run docs` generates from src/config.ts', () => {
    const current = readFileSync(file, 'utf8');
    // On failure: run `npm run docs` and commit docs/configuration.md.
    expect(current).toBe(withConfigTable(current));
  });

  test('names every setting of the schema once, each with a meaning', () => {
    const table = renderConfigTable();
    for (const name of Object.keys(ConfigFields.shape)) {
      expect(table.split('\n').filter((line) => line.startsWith(`| \`${name}\` |`))).toHaveLength(1);
    }
  });
});
