// Run by netns-forward.ts as `nsenter --net=NETNS node netns-dial.js PORT`: inside the network
// namespace, connects to localhost:PORT (IPv4, then IPv6, as containerd does) and pipes the
// connection to stdin/stdout, half-closes included. On failure it prints containerd's wording on
// stderr and exits 1. Not imported by anything: a process of its own, because Node cannot enter
// a network namespace from one of its threads.
import { connect, type Socket } from 'node:net';

// Go's texts for the connect errors, as containerd reports them.
const GO_ERRNO_TEXT: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENETUNREACH: 'network is unreachable',
  EHOSTUNREACH: 'no route to host',
  EADDRNOTAVAIL: 'cannot assign requested address',
  ETIMEDOUT: 'connection timed out',
  EAFNOSUPPORT: 'address family not supported by protocol',
};

function dial(host: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, allowHalfOpen: true });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

function goDialError(network: string, address: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return `dial ${network} ${address}: connect: ${GO_ERRNO_TEXT[code] ?? (err as Error).message}`;
}

const port = Number(process.argv[2]);
const label = process.argv[3] ?? '';
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write(`usage: netns-dial.js PORT [LABEL]: "${process.argv[2]}" is not a TCP port\n`);
  process.exit(2);
}

let socket: Socket;
try {
  socket = await dial('127.0.0.1');
} catch (errV4) {
  try {
    socket = await dial('::1');
  } catch (errV6) {
    process.stderr.write(
      `failed to connect to localhost:${port} inside namespace "${label}", ` +
        `IPv4: ${goDialError('tcp4', `127.0.0.1:${port}`, errV4)} IPv6 ${goDialError('tcp6', `[::1]:${port}`, errV6)} `,
    );
    process.exit(1);
  }
}

// Client to port: stdin's end half-closes the connection, so a client that sends FIN still gets
// its answer. Port to client: once the port has finished sending, the forward is over (as in
// containerd), whether or not the client has.
process.stdin.pipe(socket);
socket.pipe(process.stdout, { end: false });
socket.once('end', () => process.stdout.write('', () => process.exit(0)));
socket.once('error', () => process.exit(0));
process.stdout.on('error', () => process.exit(0));
