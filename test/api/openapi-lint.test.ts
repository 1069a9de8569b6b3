import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { openApiDocument } from '../../src/api/openapi';
import { ROUTES } from '../../src/api/routes';

/**
 * The document as a real OpenAPI tool reads it: Redocly's linter with its recommended rules (the installed
 * @redocly/cli) finds neither errors nor warnings. It runs in a temp dir, so no redocly.yaml or ignore file of
 * ours can loosen the rules.
 */

const redocly = (() => {
  const manifest = require.resolve('@redocly/cli/package.json');
  const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin: Record<string, string> };
  return path.join(path.dirname(manifest), bin.redocly!);
})();

interface LintReport {
  totals: { errors: number; warnings: number; ignored: number };
  problems: { ruleId: string; severity: string; message: string; location: { pointer?: string }[] }[];
}

test('redocly lint (recommended rules) reports no error and no warning on the generated document', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'openapi-lint-'));
  try {
    writeFileSync(path.join(dir, 'openapi.json'), JSON.stringify(openApiDocument(ROUTES)));
    const run = await promisify(execFile)(
      process.execPath,
      [redocly, 'lint', 'openapi.json', '--extends', 'recommended', '--format', 'json', '--max-problems', '1000'],
      {
        cwd: dir,
        // No usage report or update check: the linter's answer depends on the document alone.
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      },
    ).catch((err: { stdout?: string; stderr?: string }) => ({ stdout: err.stdout ?? '', stderr: err.stderr ?? '' }));
    let report: LintReport;
    try {
      report = JSON.parse(run.stdout) as LintReport;
    } catch {
      throw new Error(`redocly lint printed no report:\n${run.stderr}`);
    }
    const problems = report.problems.map(
      (p) => `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer ?? '?'}: ${p.message}`,
    );
    expect(problems).toEqual([]);
    expect(report.totals).toEqual({ errors: 0, warnings: 0, ignored: 0 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
