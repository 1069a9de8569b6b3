import { type ApiClient, type Output, usageError } from './client';
import { versionArg } from './functions';

const fnPath = (name: string) => `/api/v1/functions/${encodeURIComponent(name)}`;

/** `poet resolve <name> --unit <id>`: the version this unit should run (the same every time for one unit). */
export async function resolveCommand(client: ApiClient, out: Output, name: string, opts: { unit?: string }) {
  if (!opts.unit) throw usageError('--unit <id> is required: who runs the function (a caller, a user, a job id)');
  const { body } = await client.get<{ version: number; bucket: number; reason: string; urls: { python: string } }>(
    `${fnPath(name)}/resolve?unit=${encodeURIComponent(opts.unit)}`,
  );
  if (out.json) return out.out(JSON.stringify(body, null, 2));
  out.out(`${name} v${body.version} for ${opts.unit} (${body.reason}, bucket ${body.bucket}): ${body.urls.python}`);
}

interface VersionOutcomes {
  window: string;
  calls: number;
  success_rate: number | null;
  latency_ms: { p50: number | null; p95: number | null };
  mean_attempts: number | null;
  errors: Array<{ exception_type: string; count: number }>;
}

const fixed = (value: number | null, digits: number) => (value === null ? '-' : value.toFixed(digits));

/** `poet outcomes <name> <version>`: what the field reported for a version. */
export async function outcomesCommand(
  client: ApiClient,
  out: Output,
  name: string,
  version: string,
  opts: { window: string },
) {
  const v = versionArg(version, 'version');
  const { body } = await client.get<VersionOutcomes>(
    `${fnPath(name)}/versions/${v}/outcomes?window=${encodeURIComponent(opts.window)}`,
  );
  if (out.json) return out.out(JSON.stringify(body, null, 2));
  out.out(
    `${name} v${v}, last ${body.window}: ${body.calls} calls, success ${fixed(body.success_rate, 4)}, ` +
      `p50 ${fixed(body.latency_ms.p50, 1)} ms, p95 ${fixed(body.latency_ms.p95, 1)} ms, attempts ${fixed(body.mean_attempts, 2)}`,
  );
  for (const e of body.errors) out.out(`  ${e.exception_type}: ${e.count}`);
}
