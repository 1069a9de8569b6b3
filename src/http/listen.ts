import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Binds `server` to host:port (0: a free port); resolves with the URL a local client reaches it at. */
export async function listen(server: Server, port: number, host: string): Promise<string> {
  server.listen(port, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const bound = (server.address() as AddressInfo).port;
  return `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${bound}`;
}
