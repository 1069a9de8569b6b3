import net from 'node:net';
import { Pool } from 'pg';
import { freePort } from '../helpers/net';
import { getJson, startStack, until, type TestStack } from '../helpers/stack';

/**
 * A TCP relay in front of the machine's PostgreSQL: cutting it takes the database away from the stack (connections
 * dropped, new ones refused) while the test still reaches the server directly.
 */
async function relay(target: URL): Promise<{ port: number; cut(): Promise<void>; restore(): Promise<void> }> {
  const port = await freePort();
  const [host, upstreamPort] = [target.hostname, Number(target.port || 5432)];
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(upstreamPort, host);
    track(client);
    track(upstream);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  const listen = () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  await listen();
  return {
    port,
    async cut() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    restore: listen,
  };
}

describe('database faults answer 503 with the fault class, never 500 or 401', () => {
  let stack: TestStack;
  let direct: Pool;
  let link: Awaited<ReturnType<typeof relay>>;

  beforeAll(async () => {
    const target = new URL(process.env.DATABASE_URL!);
    link = await relay(target);
    target.host = `127.0.0.1:${link.port}`;
    stack = await startStack('dberrors', { DATABASE_URL: target.toString() });
    // The test's own pool goes through the relay too: its idle connections die with the cut.
    stack.pool.on('error', () => undefined);
    direct = new Pool({
      connectionString: process.env.DATABASE_URL,
      options: `-c search_path=${stack.config.DATABASE_SCHEMA}`,
      max: 2,
    });
  });
  afterAll(async () => {
    await direct?.end();
    await stack?.close();
    await link?.cut();
  });

  test('the key store unreachable: a valid key gets 503 with Retry-After, then 200 once PostgreSQL is back', async () => {
    expect((await getJson(`${stack.url}/api/v1/functions`)).status).toBe(200);
    await link.cut();
    try {
      const answers = await Promise.all([0, 1, 2].map(() => getJson(`${stack.url}/api/v1/functions`)));
      for (const res of answers) {
        expect(res.status).toBe(503);
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(res.body.error.code).toBe('database_unavailable');
        expect(['econnrefused', 'connection_lost', 'econnreset', 'connection_timeout']).toContain(res.body.error.fault);
      }
    } finally {
      await link.restore();
    }
    await until('the API reads the key store again', async () =>
      (await getJson(`${stack.url}/api/v1/functions`)).status === 200 ? true : undefined,
    );
  });

  test('a route whose query PostgreSQL ends: 503 naming the SQLSTATE class', async () => {
    const locker = await direct.connect();
    try {
      // The key check passes; the listing then waits on this lock until its backend is terminated.
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE functions IN ACCESS EXCLUSIVE MODE');
      const pending = getJson(`${stack.url}/api/v1/functions`);
      const appName = `poet-api:${stack.config.DATABASE_SCHEMA}`;
      const waiting = `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`;
      const pid = await until(
        'the listing waiting on the lock',
        async () => (await direct.query(waiting, [appName])).rows[0]?.pid as number | undefined,
      );
      await direct.query('SELECT pg_terminate_backend($1)', [pid]);
      const res = await pending;
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).not.toBeNull();
      expect(res.body.error).toMatchObject({ code: 'database_unavailable', fault: 'operator_intervention' });
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
    }
  });
});
