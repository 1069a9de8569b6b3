import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openApiDocument } from '../../src/api/openapi';
import { ROUTES } from '../../src/api/routes';
import { runPackageBin } from '../helpers/package-bin';

/**
 * The document as a real OpenAPI tool reads it: Redocly's linter with its recommended rules (the installed
 * @redocly/cli) finds neither errors nor warnings. It runs in a temp dir, so no redocly.yaml or ignore file of
 * ours can loosen the rules.
 */

interface LintReport {
  totals: { errors: number; warnings: number; ignored: number };
  problems: { ruleId: string; severity: string; message: string; location: { pointer?: string }[] }[];
}

test('redocly lint (recommended rules) reports no error and no warning on the generated document', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'openapi-lint-'));
  try {
    writeFileSync(path.join(dir, 'openapi.json'), JSON.stringify(openApiDocument(ROUTES)));
    const run = await runPackageBin(
      '@redocly/cli',
      'redocly',
      ['lint', 'openapi.json', '--extends', 'recommended', '--format', 'json', '--max-problems', '1000'],
      // No usage report or update check: the linter's answer depends on the document alone.
      { cwd: dir, env: { REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' } },
    );
    let report: LintReport;
    try {
      report = JSON.parse(run.stdout) as LintReport;
    } catch {
      throw new Error(`redocly lint exited ${run.code} without a report:\n${run.stderr}`);
    }
    const problems = report.problems.map(
      (p) => `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer ?? '?'}: ${p.message}`,
    );
    expect(problems).toEqual([]);
    expect(report.totals).toEqual({ errors: 0, warnings: 0, ignored: 0 });
    expect(run.code).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
