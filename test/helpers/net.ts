import net from 'node:net';

export { freePort } from '../../src/cli/processes';

export async function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

export { waitUntil as waitFor } from '../../src/cli/wait';
