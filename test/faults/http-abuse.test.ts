import net from 'node:net';
import { freePort, isListening, waitFor } from '../helpers/net';
import { spawnService, type ServiceProcess } from '../helpers/processes';
import { getJson } from '../helpers/stack';

const SLOW_CONNECTIONS = 10_000;

/** Opens a connection that starts a request and never finishes its headers; resolves once connected. */
function slowloris(port: number, closed: () => void): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write('GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow-0: a\r\n');
      resolve(socket);
    });
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.once('close', closed);
    socket.once('error', reject);
  });
}

/** One raw HTTP exchange: the status line the server answered with, or 'closed'. */
function rawRequest(port: number, head: string, body: Buffer | null): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(head);
      if (body) socket.write(body);
    });
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(received.split('\r\n')[0] || 'closed'));
  });
}

// The API as its own process, so the hostile client's sockets and the server's do not share a file-descriptor limit.
describe('hostile HTTP clients', () => {
  let api: ServiceProcess;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    api = spawnService('api', {
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_SCHEMA: 'public',
      // About the HTTP layer, not credentials (without a key the 10 MB body would be a 401 before it is read).
      AUTH_MODE: 'disabled',
      HTTP_HEADERS_TIMEOUT_MS: '3000',
      HTTP_REQUEST_TIMEOUT_MS: '6000',
    });
    await waitFor(() => isListening(port), 20_000, `api listening on ${port}\n${api.output()}`);
  });
  afterAll(() => api.stop());

  test('a 10 MB body is refused with 413, whether announced by Content-Length or chunked, and the API stays up', async () => {
    const tenMb = Buffer.alloc(10 * 1024 * 1024, 'a');
    const announced = await rawRequest(
      port,
      `POST /api/v1/functions/enhance HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${tenMb.length}\r\nConnection: close\r\n\r\n`,
      tenMb,
    );
    expect(announced).toBe('HTTP/1.1 413 Payload Too Large');

    const chunked = Buffer.concat([
      Buffer.from(`${tenMb.length.toString(16)}\r\n`),
      tenMb,
      Buffer.from('\r\n0\r\n\r\n'),
    ]);
    const streamed = await rawRequest(
      port,
      'POST /api/v1/functions/enhance HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n',
      chunked,
    );
    expect(streamed).toBe('HTTP/1.1 413 Payload Too Large');
    expect((await getJson(`http://127.0.0.1:${port}/health/live`)).status).toBe(200);
  });

  test(`${SLOW_CONNECTIONS} connections dribbling headers neither stop other clients nor stay open past the headers timeout`, async () => {
    let closedCount = 0;
    const sockets: net.Socket[] = [];
    for (let opened = 0; opened < SLOW_CONNECTIONS; opened += 500) {
      sockets.push(...(await Promise.all(Array.from({ length: 500 }, () => slowloris(port, () => closedCount++)))));
    }
    // Keep dribbling: each connection sends one more header line a second, as slowloris does.
    let line = 1;
    const dribble = setInterval(() => {
      for (const socket of sockets) if (!socket.destroyed) socket.write(`X-Slow-${line}: a\r\n`);
      line++;
    }, 1_000);
    try {
      const live = await getJson(`http://127.0.0.1:${port}/health/live`);
      expect(live.status).toBe(200);
      await waitFor(
        async () => closedCount === SLOW_CONNECTIONS,
        60_000,
        `server closed every slow connection (${closedCount} so far)`,
        250,
      );
    } finally {
      clearInterval(dribble);
      for (const socket of sockets) socket.destroy();
    }
    expect(api.child.exitCode).toBeNull();
    expect((await getJson(`http://127.0.0.1:${port}/health/live`)).status).toBe(200);
  });
});
