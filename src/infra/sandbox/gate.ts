import path from 'node:path';
import { z } from 'zod';
import type { Check } from '../observability/health';
import type { Logger } from '../observability/logger';
import type { SandboxStatus } from '../observability/metrics';
import { SandboxUnavailableError, isolationFailure, resolveInterpreter, runHarness } from './harness';
import type { SandboxOptions } from './run';

export type SandboxState =
  | { status: Extract<SandboxStatus, 'isolated'> }
  | { status: Exclude<SandboxStatus, 'isolated'>; reason: string };

/** What `sandbox.py SETTINGS --probe` reports from inside the isolation. */
const ProbeFacts = z.object({
  pid: z.number(),
  ppid: z.number(),
  uid: z.number(),
  gid: z.number(),
  cap_eff: z.string(),
  no_new_privs: z.string(),
  seccomp: z.string(),
  interfaces: z.array(z.string()),
  tmp_writable: z.boolean(),
});

const SANDBOX_ID = 65534;
/** The probe of a failing sandbox is tried again at most this often, when a validation asks. */
const REPROBE_MS = 30_000;
const PROBE_TIMEOUT_MS = 10_000;

/** Why the facts fall short of the isolation every validation gets; undefined when they do not. */
export function isolationShortfall(facts: z.infer<typeof ProbeFacts>): string | undefined {
  const wanted: [boolean, string][] = [
    // PID 1 of the namespace is the reaper; the validation is its first child.
    [
      facts.pid === 2 && facts.ppid === 1,
      `runs as PID ${facts.pid} (parent ${facts.ppid}) rather than PID 2 under the reaper of its own PID namespace`,
    ],
    [
      facts.uid === SANDBOX_ID && facts.gid === SANDBOX_ID,
      `runs as uid ${facts.uid}, gid ${facts.gid} rather than ${SANDBOX_ID}`,
    ],
    [/^0+$/.test(facts.cap_eff), `holds capabilities ${facts.cap_eff}`],
    [facts.no_new_privs === '1', 'no_new_privs is not set'],
    [facts.seccomp === '2', 'no seccomp filter is installed'],
    [facts.interfaces.join(',') === 'lo', `sees network interfaces ${facts.interfaces.join(', ')}`],
    [facts.tmp_writable, 'has no writable /tmp'],
  ];
  return wanted.find(([ok]) => !ok)?.[1];
}

/**
 * Whether validations may run: at start the worker probes the isolation the kernel gives (a harness run that
 * reports from inside it); while that fails, every validation is refused with SandboxUnavailableError rather
 * than run with less. SANDBOX_ISOLATION=none (trusted single-tenant code only) turns the gate off.
 */
export class SandboxGate {
  private state: SandboxState = { status: 'failing', reason: 'not probed yet' };
  private probedAt = 0;
  private probing: Promise<SandboxState> | undefined;

  constructor(
    private readonly opts: Omit<SandboxOptions, 'forkServer'>,
    private readonly logger?: Logger,
    private readonly onState?: (state: SandboxState) => void,
  ) {}

  current(): SandboxState {
    return this.state;
  }

  probe(): Promise<SandboxState> {
    this.probing ??= this.runProbe().finally(() => {
      this.probing = undefined;
    });
    return this.probing;
  }

  /** Resolves when a validation may run; rejects with SandboxUnavailableError, saying why, when it may not. */
  async ensure(): Promise<void> {
    let state = this.state;
    if (state.status === 'failing' && Date.now() - this.probedAt >= REPROBE_MS) state = await this.probe();
    if (state.status === 'failing')
      throw new SandboxUnavailableError(`the validation sandbox is not isolated: ${state.reason}`);
  }

  /** A validation the kernel refused to isolate after the probe had passed: readiness says so until a probe passes. */
  refused(reason: string): void {
    this.record({ status: 'failing', reason });
  }

  private async runProbe(): Promise<SandboxState> {
    const state = await this.measure();
    this.record(state);
    return state;
  }

  private record(state: SandboxState): void {
    this.state = state;
    this.probedAt = Date.now();
    this.onState?.(state);
    if (state.status === 'failing')
      this.logger?.error('validation sandbox unavailable: every validation is refused', { reason: state.reason });
  }

  private async measure(): Promise<SandboxState> {
    const { harness, pythonBin, pathEnv, scriptDir } = this.opts;
    if (harness.isolation === 'none')
      return { status: 'disabled', reason: 'SANDBOX_ISOLATION=none: submitted code runs without kernel isolation' };
    try {
      const exit = await runHarness('', {
        python: await resolveInterpreter(pythonBin, pathEnv),
        script: path.join(scriptDir, 'sandbox.py'),
        pathEnv,
        harness,
        killAfterMs: PROBE_TIMEOUT_MS,
        probe: true,
      });
      const refused = isolationFailure(exit);
      if (refused) return { status: 'failing', reason: refused.message };
      const facts = ProbeFacts.safeParse(JSON.parse(exit.stdout || 'null'));
      if (!facts.success)
        return {
          status: 'failing',
          reason: `the probe answered no facts (code ${exit.code ?? exit.signal}): ${exit.stderrTail.trim().slice(-300)}`,
        };
      const shortfall = isolationShortfall(facts.data);
      return shortfall ? { status: 'failing', reason: `the isolated process ${shortfall}` } : { status: 'isolated' };
    } catch (err) {
      return { status: 'failing', reason: (err as Error).message };
    }
  }
}

/** Readiness: `failing` with the reason while validations are refused; `disabled` (still ready) when turned off. */
export function sandboxCheck(gate: SandboxGate): Check {
  return async () => {
    const state = gate.current();
    if (state.status === 'isolated') return { status: 'ok', latency_ms: 0, details: { sandbox: 'isolated' } };
    return { status: state.status, latency_ms: 0, error: state.reason, details: { sandbox: state.status } };
  };
}
