import type { Pool } from 'pg';
import type { CircuitState } from '../observability/metrics';

/** The worse state wins when workers disagree: one worker with an open circuit means the provider is failing somewhere. */
const SEVERITY: Record<CircuitState, number> = { closed: 0, half_open: 1, open: 2 };

/** Circuit states shared through PostgreSQL: each worker writes its own, the API reads them all. */
export class CircuitStatesRepo {
  constructor(private readonly pool: Pool) {}

  async report(workerId: string, states: Record<string, CircuitState>): Promise<void> {
    const providers = Object.keys(states);
    if (providers.length === 0) return;
    await this.pool.query(
      `INSERT INTO circuit_states (worker_id, provider, state, updated_at)
       SELECT $1, provider, state, now() FROM unnest($2::text[], $3::text[]) AS s(provider, state)
       ON CONFLICT (worker_id, provider) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at`,
      [workerId, providers, providers.map((p) => states[p])],
    );
  }

  /** A worker that stops says so, rather than leaving its last states to age out. */
  async forget(workerId: string): Promise<void> {
    await this.pool.query('DELETE FROM circuit_states WHERE worker_id = $1', [workerId]);
  }

  /** Per provider, the worst state any worker reported within `freshSeconds`. */
  async current(freshSeconds: number): Promise<Record<string, CircuitState>> {
    const res = await this.pool.query<{ provider: string; state: CircuitState }>(
      `SELECT provider, state FROM circuit_states WHERE updated_at > now() - make_interval(secs => $1) ORDER BY provider`,
      [freshSeconds],
    );
    const merged: Record<string, CircuitState> = {};
    for (const { provider, state } of res.rows) {
      const seen = merged[provider];
      if (seen === undefined || SEVERITY[state] > SEVERITY[seen]) merged[provider] = state;
    }
    return merged;
  }
}
