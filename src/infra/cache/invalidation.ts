import { Client, type Pool } from 'pg';
import { sha256 } from '../hash';
import type { Logger } from '../observability/logger';

/** What to drop: a tenant's entries, or one function's. */
export interface Invalidation {
  tenant_id: string;
  function_name?: string;
  /** The tenant was erased: workers also forget its unflushed cache statistics. */
  erased?: boolean;
}

/**
 * PostgreSQL is the broadcast every deployment has (Redis is optional): one NOTIFY channel per schema, so deployments
 * and test files sharing a database never hear each other. Channel names are identifiers of at most 63 bytes.
 */
export const invalidationChannel = (schema: string) => `poet_cache_${sha256(schema).slice(0, 16)}`;

/** How listening sessions show in pg_stat_activity (application_name is cut at 63 bytes): the API counts them. */
const listenerName = (schema: string) => `poet-cache-listener:${schema}`.slice(0, 63);

const RECONNECT_MAX_MS = 5_000;

export interface InvalidationListenerOptions {
  url: string;
  schema: string;
  logger: Logger;
  /** An invalidation another process published. */
  onInvalidate(message: Invalidation): void;
  /**
   * The session is lost, or (re)established: anything published meanwhile went unheard, so everything this process
   * holds must go, and nothing may be kept while nobody listens.
   */
  onListening(listening: boolean): void;
}

/** One dedicated session LISTENing on the schema's channel, reconnecting with backoff while PostgreSQL is away. */
export class InvalidationListener {
  private client: Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private failures = 0;

  constructor(private readonly opts: InvalidationListenerOptions) {}

  /** Not listening until the first LISTEN succeeds. */
  start(): void {
    this.opts.onListening(false);
    void this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new Client({ connectionString: this.opts.url, application_name: listenerName(this.opts.schema) });
    let gone = false;
    const lose = (err?: Error) => {
      if (gone) return;
      gone = true;
      this.lost(client, err);
    };
    client.on('error', lose);
    client.on('end', () => lose());
    client.on('notification', (msg) => {
      const parsed = parseInvalidation(msg.payload);
      if (parsed) this.opts.onInvalidate(parsed);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${client.escapeIdentifier(invalidationChannel(this.opts.schema))}`);
    } catch (err) {
      lose(err as Error);
      return;
    }
    if (this.closed || gone) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    if (this.failures > 0) this.opts.logger.info('cache invalidations heard again');
    this.failures = 0;
    this.opts.onListening(true);
  }

  private lost(client: Client, err: Error | undefined): void {
    if (this.client === client) this.client = undefined;
    client.end().catch(() => undefined);
    if (this.closed) return;
    this.opts.onListening(false);
    if (this.failures === 0)
      this.opts.logger.warn('cache invalidations not heard; in-process cache off until they are', {
        error: err?.message ?? 'connection ended',
      });
    this.failures += 1;
    this.timer = setTimeout(
      () => void this.connect(),
      Math.min(100 * 2 ** Math.min(this.failures, 6), RECONNECT_MAX_MS),
    );
    this.timer.unref();
  }
}

/**
 * Tells every listening process of the schema to drop its entries, and how many sessions listen. Each worker holds
 * in-process entries only while it listens, so the count is every worker that could still answer from them.
 */
export async function publishInvalidation(pool: Pool, schema: string, message: Invalidation): Promise<number> {
  const { rows } = await pool.query<{ listeners: number }>(
    `SELECT pg_notify($1, $2), (SELECT count(*)::int FROM pg_stat_activity WHERE application_name = $3) AS listeners`,
    [invalidationChannel(schema), JSON.stringify(message), listenerName(schema)],
  );
  return rows[0]?.listeners ?? 0;
}

function parseInvalidation(payload: string | undefined): Invalidation | undefined {
  try {
    const msg = JSON.parse(payload ?? '') as { tenant_id?: unknown; function_name?: unknown; erased?: unknown };
    if (typeof msg.tenant_id !== 'string') return undefined;
    return {
      tenant_id: msg.tenant_id,
      ...(typeof msg.function_name === 'string' ? { function_name: msg.function_name } : {}),
      ...(msg.erased === true ? { erased: true } : {}),
    };
  } catch {
    return undefined;
  }
}
