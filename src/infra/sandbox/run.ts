import path from 'node:path';
import { SandboxRequest, SandboxResult } from '../../contracts/analysis';
import type { SandboxForkServer } from './fork-server';
import {
  isolationFailure,
  KILL_MARGIN_MS,
  resolveInterpreter,
  runHarness,
  STDOUT_CAP_BYTES,
  type HarnessExit,
  type HarnessSettings,
} from './harness';

export interface SandboxOptions {
  pythonBin: string;
  scriptDir: string;
  /** PATH of the child, whose environment holds nothing else. */
  pathEnv: string;
  harness: HarnessSettings;
  /** Runs the validation in a child forked from a warm python3; absent, or when it cannot, a one-shot harness. */
  forkServer?: SandboxForkServer;
}

function failed(message: string, durationMs: number): SandboxResult {
  return {
    compiled: false,
    imported: false,
    samples_run: 0,
    runtime_version: null,
    declared_rules: [],
    evidence: {
      inputs: { samples: 0, doctests: 0, generated: 0, feedback: 0 },
      agreed: 0,
      inconclusive: 0,
      exhaustive: false,
      duration_ms: 0,
    },
    mismatches: [],
    errors: [{ stage: 'run', message, line: null }],
    findings: [],
    safety_level: 'low',
    duration_ms: durationMs,
  };
}

function interpret(exit: HarnessExit, timeoutS: number, durationMs: number): SandboxResult {
  if (exit.killedFor === 'timeout') {
    return failed(
      `timed out: the sandbox ran past ${timeoutS}s + ${KILL_MARGIN_MS / 1000}s and was killed`,
      durationMs,
    );
  }
  if (exit.killedFor === 'output') {
    return failed(`the sandbox wrote more than ${STDOUT_CAP_BYTES} bytes to stdout`, durationMs);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(exit.stdout);
  } catch {
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code ?? 'none'}`;
    const detail = exit.stderrTail.trim();
    return failed(`the sandbox ${how} without a result${detail ? `: ${detail}` : ''}`, durationMs);
  }
  const parsed = SandboxResult.safeParse(raw);
  if (!parsed.success)
    return failed(`the sandbox answered with an unexpected shape: ${parsed.error.message}`, durationMs);
  return parsed.data;
}

/**
 * Validates enhanced code against the original in a process of its own: a child of the fork server when one is
 * given and can run it, else a one-shot `python3 -I sandbox.py`. Either way kernel isolation (python/isolation.py)
 * unless the operator turned it off, an empty environment (PATH only), rlimits and a wall-clock guard inside the
 * harness, and a SIGKILL of its process group from here if the harness itself overruns.
 * Failures caused by the code under test come back as a result with safety "low"; a harness that cannot be
 * started rejects, and one the kernel would not isolate rejects with SandboxUnavailableError.
 */
export async function runSandbox(req: SandboxRequest, opts: SandboxOptions): Promise<SandboxResult> {
  const request = SandboxRequest.parse(req);
  const payload = JSON.stringify({ ...request, samples: request.samples ?? null });
  const killAfterMs = request.timeout_s * 1000 + KILL_MARGIN_MS;
  const started = performance.now();
  const exit =
    (await opts.forkServer?.run(payload, killAfterMs)) ??
    (await runHarness(payload, {
      python: await resolveInterpreter(opts.pythonBin, opts.pathEnv),
      script: path.join(opts.scriptDir, 'sandbox.py'),
      pathEnv: opts.pathEnv,
      harness: opts.harness,
      killAfterMs,
    }));
  const refused = isolationFailure(exit);
  if (refused) throw refused;
  return interpret(exit, request.timeout_s, Math.round(performance.now() - started));
}
