import type { RecordRolloutInput, RolloutFiguresInput, VersionFigures } from '../contracts/rollouts';
import type { OutcomesRepo } from '../infra/db/outcomes-repo';
import type { RolloutsRepo } from '../infra/db/rollouts-repo';
import { latencyQuantile } from '../poet/latency-histogram';

export interface RolloutDeps {
  rollouts: RolloutsRepo;
  outcomes: OutcomesRepo;
}

const MINUTE_MS = 60_000;

export function createRolloutActivities(deps: RolloutDeps) {
  const figures = async (tenantId: string, name: string, version: number, since: Date): Promise<VersionFigures> => {
    const t = await deps.outcomes.totals(tenantId, name, version, since);
    return {
      version,
      calls: t.calls,
      successes: t.successes,
      success_rate: t.calls ? t.successes / t.calls : null,
      p95_ms: latencyQuantile(t.latencyCounts, 0.95),
    };
  };
  return {
    /** Records the rollout's share and status where resolve reads them. */
    recordRollout: (input: RecordRolloutInput) => deps.rollouts.record(input),

    /** Both versions' field reports since the step began (from its minute: reports are kept per minute). */
    async rolloutFigures(input: RolloutFiguresInput): Promise<{ candidate: VersionFigures; baseline: VersionFigures }> {
      const since = new Date(Math.floor(Date.parse(input.since) / MINUTE_MS) * MINUTE_MS);
      const [candidate, baseline] = await Promise.all([
        figures(input.tenant_id, input.function_name, input.candidate_version, since),
        figures(input.tenant_id, input.function_name, input.baseline_version, since),
      ]);
      return { candidate, baseline };
    },
  };
}
