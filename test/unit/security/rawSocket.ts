import { connect, type Socket } from 'node:net';

/** A socket to a test server, for what an HTTP client will not do: stall, trickle, lie about lengths. */
export interface RawSocket {
  socket: Socket;
  /** Everything the server sent so far. */
  received(): string;
  /** Resolves when the server has closed the socket (end or reset), with everything it sent. */
  closed: Promise<string>;
}

export function openRaw(url: string): Promise<RawSocket> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: u.hostname, port: Number(u.port) });
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (data += c));
    const closed = new Promise<string>((r) => socket.once('close', () => r(data)));
    // A reset from the server is one of the ways it closes; the test reads `closed`.
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, received: () => data, closed }));
    socket.once('error', reject);
  });
}
