import type { Pool } from 'pg';
import { EventsQuery } from '../../src/contracts/events';
import { EventPublisher } from '../../src/infra/events/publisher';
import { EventsRepo, InvalidPageToken } from '../../src/infra/db/events-repo';
import { createLogger } from '../../src/infra/observability/logger';
import { migratedSchema, type MigratedSchema } from '../helpers/db';

const logger = createLogger({ level: 'error', service: 'test', silent: true });
let db: MigratedSchema;
let pool: Pool;
let publisher: EventPublisher;
let repo: EventsRepo;

beforeAll(async () => {
  db = await migratedSchema('events');
  pool = db.pool;
  publisher = new EventPublisher({ pool, stream: 'unused', maxLen: 100, logger });
  repo = new EventsRepo(pool);
});
afterAll(() => db.drop());

const publishRun = (fn: string, run: string, tenant = 'default') =>
  publisher.publish({
    tenant_id: tenant,
    function_name: fn,
    workflow_id: `wf-${run}`,
    run_id: run,
    events: [
      { type: 'version.created', payload: { run } },
      { type: 'enhancement.completed', payload: { run } },
    ],
  });

describe('events keyset pagination', () => {
  test('paging while events are inserted serves every earlier event exactly once, newest first', async () => {
    for (let i = 0; i < 15; i++) await publishRun('paged_fn', `r${i}`);
    const before = await pool.query<{ id: string }>(
      "SELECT id FROM events WHERE function_name = 'paged_fn' ORDER BY id DESC",
    );
    const seen: string[] = [];
    let token: string | undefined;
    let page = 0;
    do {
      const res = await repo.list(
        'default',
        'paged_fn',
        EventsQuery.parse({ limit: '7', ...(token ? { page_token: token } : {}) }),
      );
      if (page === 0) expect(res.events[0]!.id).toBe(before.rows[0]!.id);
      seen.push(...res.events.map((e) => e.id));
      token = res.next_page_token ?? undefined;
      // Inserts between pages (and in another tenant) shift nothing.
      await publishRun('paged_fn', `late${page}`);
      await publishRun('paged_fn', `other${page}`, 'acme');
      page += 1;
    } while (token);
    expect(seen).toEqual(before.rows.map((r) => r.id));
    expect(page).toBe(5);
  });

  test('filters by type and time; a token from another query is refused', async () => {
    await publishRun('filtered_fn', 'f1');
    const all = await repo.list('default', 'filtered_fn', EventsQuery.parse({ event_type: 'version.created' }));
    expect(all.events.map((e) => e.event_type)).toEqual(['version.created']);
    const future = await repo.list(
      'default',
      'filtered_fn',
      EventsQuery.parse({ start_time: new Date(Date.now() + 60_000).toISOString() }),
    );
    expect(future.events).toEqual([]);
    const first = await repo.list('default', 'filtered_fn', EventsQuery.parse({ limit: '1' }));
    expect(first.next_page_token).not.toBeNull();
    await expect(
      repo.list(
        'default',
        'filtered_fn',
        EventsQuery.parse({ limit: '1', event_type: 'version.created', page_token: first.next_page_token }),
      ),
    ).rejects.toBeInstanceOf(InvalidPageToken);
    expect(await repo.list('acme', 'filtered_fn', EventsQuery.parse({}))).toEqual({
      events: [],
      next_page_token: null,
    });
  });
});
