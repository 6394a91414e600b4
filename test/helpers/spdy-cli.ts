// The SPDY client as a command, for tests whose server listens in another network namespace (a
// test berthd's streaming server): `node spdy-cli.js exec URL OPTIONS_JSON` prints the session's
// result as JSON; `node spdy-cli.js forward URL PORT MESSAGE` prints the reply and error.
import { PortForwardClient, remoteCommand } from './spdy-client.js';

const [kind, url, a, b] = process.argv.slice(2);
if (kind === 'exec') {
  const result = await remoteCommand(url!, JSON.parse(a ?? '{}'));
  process.stdout.write(JSON.stringify(result));
} else if (kind === 'forward') {
  const client = await PortForwardClient.connect(url!);
  try {
    process.stdout.write(JSON.stringify(await client.roundTrip(Number(a), b ?? '')));
  } finally {
    client.close();
  }
} else {
  process.stderr.write('usage: spdy-cli exec URL OPTIONS_JSON | forward URL PORT MESSAGE\n');
  process.exit(2);
}
