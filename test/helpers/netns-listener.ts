// A TCP service for port-forward tests, run inside a network namespace:
// `ip netns exec NS node netns-listener.js PORT MODE`. MODE "echo" answers everything a
// connection sent, once the client half-closed, as "echo:<data>"; MODE "greet" sends a greeting
// at once and closes; MODE "chat" answers each chunk at once and closes after one holding "bye".
// Prints "ready" once listening on 127.0.0.1:PORT.
import { createServer } from 'node:net';

const port = Number(process.argv[2]);
const mode = process.argv[3] ?? 'echo';
const server = createServer({ allowHalfOpen: true }, (socket) => {
  if (mode === 'greet') {
    socket.end(`hello from port ${port}\n`);
    return;
  }
  if (mode === 'chat') {
    socket.on('data', (c: Buffer) => {
      socket.write(`echo:${c.toString()}`);
      if (c.includes('bye')) socket.end();
    });
    socket.on('error', () => socket.destroy());
    return;
  }
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('end', () => socket.end(`echo:${Buffer.concat(chunks).toString()}`));
  socket.on('error', () => socket.destroy());
});
server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
