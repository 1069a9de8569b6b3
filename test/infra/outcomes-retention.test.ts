import type { Pool } from 'pg';
import { loadConfig } from '../../src/config';
import { OutcomesRepo, type OutcomeGroup } from '../../src/infra/db/outcomes-repo';
import { migratedSchema, type MigratedSchema } from '../helpers/db';

const DAY_MS = 86_400_000;
let db: MigratedSchema;
let pool: Pool;
let repo: OutcomesRepo;

beforeAll(async () => {
  db = await migratedSchema('outcomes', 2);
  pool = db.pool;
  repo = new OutcomesRepo(pool);
});
afterAll(() => db.drop());

const minuteAgo = (days: number) => new Date(Math.floor((Date.now() - days * DAY_MS) / 60_000) * 60_000);
const group = (version: number, bucket: Date): OutcomeGroup => ({
  functionName: 'f',
  version,
  bucket,
  calls: 10,
  successes: 9,
  attempts: 11,
  latencyMsSum: 20,
  latencyCounts: Array.from({ length: 80 }, (_, i) => (i === 3 ? 10 : 0)),
  errors: { ValueError: 1 },
});

test('pruning removes the minutes older than OUTCOME_RETENTION_DAYS, of every tenant, and keeps the rest', async () => {
  const retention = loadConfig({ ...process.env, NODE_ENV: 'test' }).OUTCOME_RETENTION_DAYS;
  expect(retention).toBe(90);
  expect(loadConfig({ ...process.env, NODE_ENV: 'test', OUTCOME_RETENTION_DAYS: '7' }).OUTCOME_RETENTION_DAYS).toBe(7);
  await repo.add('a', [group(1, minuteAgo(retention + 1)), group(1, minuteAgo(retention - 1)), group(1, minuteAgo(0))]);
  await repo.add('b', [group(2, minuteAgo(retention + 30))]);

  expect(await repo.prune(retention)).toBe(2);
  const left = await pool.query<{ tenant_id: string }>('SELECT tenant_id FROM outcome_buckets ORDER BY bucket');
  expect(left.rows.map((r) => r.tenant_id)).toEqual(['a', 'a']);
  // The figures a rollout reads are the sums of what is left.
  expect((await repo.totals('a', 'f', 1, minuteAgo(retention * 2))).calls).toBe(20);
  expect(await repo.prune(retention)).toBe(0);
});
