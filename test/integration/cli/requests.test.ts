// The requests themselves: the real docker CLI and berth talk to the same private dockerd through
// a proxy that records what each sends, and for the same command line they must send the same
// create body (Config + HostConfig + NetworkingConfig) and the same calls and query parameters.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { haveDockerd } from '../../helpers/dockerd.js';
import { run, startCliHarness, BERTH_BIN, type CliHarness } from '../../helpers/cli.js';

interface Recorded { method: string; path: string; body: string; auth?: string }

/** A unix-socket proxy in front of the daemon that records each request's line and body. */
function recordingProxy(target: string, listen: string): Promise<{ requests: Recorded[]; close(): void }> {
  const requests: Recorded[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const upstream = net.connect({ path: target, allowHalfOpen: true });
    let pending = Buffer.alloc(0);
    let hijacked = false;
    client.on('data', (d: Buffer) => {
      upstream.write(d);
      if (hijacked) return;
      pending = Buffer.concat([pending, d]);
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = pending.subarray(0, end).toString('latin1');
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
          hijacked = true; // a streamed body (cp, load): not recorded further
        }
        if (!hijacked && pending.length < end + 4 + length) return;
        const [method, path] = head.split(' ') as [string, string];
        const auth = /\r\nx-registry-auth: *([^\r]*)/i.exec(head)?.[1];
        requests.push({ method, path, body: hijacked ? '' : pending.subarray(end + 4, end + 4 + length).toString('utf8'), ...(auth !== undefined ? { auth } : {}) });
        if (/\r\nupgrade:/i.test(head)) hijacked = true;
        if (hijacked) return;
        pending = pending.subarray(end + 4 + length);
      }
    });
    upstream.on('data', (d) => client.write(d));
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  return new Promise((resolve) => server.listen(listen, () => resolve({ requests, close: () => server.close() })));
}

describe('berth sends what docker sends', { skip: !haveDockerd() && 'dockerd not installed (apt-get install docker.io)' }, () => {
  let h: CliHarness;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let sock: string;
  before(async () => {
    h = await startCliHarness();
    sock = join(h.dir, 'proxy.sock');
    proxy = await recordingProxy(h.dockerd.socket, sock);
  });
  after(async () => {
    proxy?.close();
    await h?.cleanup();
  });

  const through = async (cli: 'docker' | 'berth', args: string[], input?: string) => {
    const from = proxy.requests.length;
    const r = cli === 'docker'
      ? await run('docker', ['-H', `unix://${sock}`, ...args], { env: h.env, input })
      : await run(process.execPath, [BERTH_BIN, '-H', `unix://${sock}`, ...args], { env: h.env, input });
    return { ...r, requests: proxy.requests.slice(from).filter((q) => q.path !== '/_ping') };
  };

  it('the same create body for the same run/create flags', async () => {
    const envFile = join(h.dir, 'env.list');
    writeFileSync(envFile, '# comment\nFROM_FILE=1\nSPACED= kept as is\n');
    const lines = [
      ['busybox'],
      ['-it', '--rm', '-e', 'A=1', '-e', 'UNSET_IN_HOST', '--env-file', envFile, '-p', '127.0.0.1:8080:80/udp', '-p', '90', '-p', '9000-9001:91-92', '--expose', '7',
        '-v', '/tmp:/c:ro', '-v', '/anon', '-v', 'named:/n', '-w', '/w', '-u', '1:2', '--entrypoint', '', '-h', 'host', '-l', 'k=v', '-l', 'bare', '--network', 'none',
        '--restart', 'no', '--init', '--read-only', '--tmpfs', '/run:size=1m', '--tmpfs', '/t', '--cap-add', 'net_admin', '--cap-drop', 'ALL', '--privileged',
        '--security-opt', 'no-new-privileges', '--ulimit', 'nofile=10:20', '--ulimit', 'nproc=5', '--device', '/dev/null:/dev/xnull', '--shm-size', '64m', '--pid', 'host',
        '--ipc', 'private', '--uts', 'host', '-m', '64m', '--memory-reservation', '32m', '--memory-swap', '-1', '--cpus', '1.5', '--cpu-shares', '512', '--pids-limit', '10',
        '--cpuset-cpus', '0', '--stop-signal', 'SIGINT', '--stop-timeout', '3', '--log-driver', 'json-file', '--log-opt', 'max-size=1m', '--health-cmd', 'true',
        '--health-interval', '5s', '--health-timeout', '2s', '--health-retries', '2', '--health-start-period', '1s',
        '--mount', 'type=bind,src=/tmp,dst=/mnt,ro', '--mount', 'type=volume,src=v2,dst=/v2,volume-nocopy', '--mount', 'type=tmpfs,dst=/tm,tmpfs-size=1m',
        'busybox', 'sh', '-c', 'echo "$A"'],
      ['--restart', 'on-failure:3', '--dns', '10.0.0.1', '--dns-search', 'example.com', '--add-host', 'db:10.0.0.2', '--group-add', '10', '--sysctl', 'net.ipv4.ip_forward=1',
        '--oom-kill-disable', '--oom-score-adj', '100', '--cgroupns', 'private', '--domainname', 'example.org', '--no-healthcheck', '-P', '--workdir', '/tmp', 'busybox'],
      ['-a', 'stdout', '--network', 'somenet', '--network-alias', 'svc', '--ip', '10.9.0.5', 'busybox', 'true'],
    ];
    for (const [i, flags] of lines.entries()) {
      const d = await through('docker', ['create', '--name', `d${i}`, ...flags]);
      const b = await through('berth', ['create', '--name', `b${i}`, ...flags]);
      const dq = d.requests.find((q) => q.path.includes('/containers/create'));
      const bq = b.requests.find((q) => q.path.includes('/containers/create'));
      assert.ok(dq && bq, `both sent a create for ${flags.join(' ')}: ${d.stderr} ${b.stderr}`);
      assert.equal(bq.path, dq.path.replace(`name=d${i}`, `name=b${i}`));
      // docker keeps -v values in a Go map: their order in Binds varies from run to run
      const body = (text: string) => {
        const b = JSON.parse(text) as { Env: string[] | null; HostConfig: { Binds: string[] | null } };
        b.HostConfig.Binds?.sort();
        b.Env?.sort(); // the same goes for -e values
        return b;
      };
      assert.deepEqual(body(bq.body), body(dq.body), `create ${flags.join(' ')}`);
    }
  });

  it('the same calls and query parameters for the other commands', async () => {
    await h.ok(['run', '-d', '--name', 'target', '--network', 'none', 'busybox', 'sleep', '300']);
    const cases: string[][] = [
      ['ps', '-a', '-n', '3', '--filter', 'label=x=y', '--filter', 'status=running'],
      ['ps', '-s'],
      ['images', '-a', '--filter', 'dangling=false', 'busybox'],
      ['logs', '--tail', '5', '-t', '--since', '1700000000', '--until', '1900000000', 'target'],
      ['stop', '-t', '0', '--signal', 'SIGUSR1', 'target'],
      ['start', 'target'],
      ['restart', '-t', '1', 'target'],
      ['kill', '-s', 'HUP', 'target'],
      ['pause', 'target'],
      ['unpause', 'target'],
      ['top', 'target', '-o', 'pid'],
      ['diff', 'target'],
      ['port', 'target'],
      ['stats', '--no-stream', 'target'],
      ['inspect', '-s', '--type', 'container', 'target'],
      ['history', 'busybox'],
      ['tag', 'busybox', 'me/bb:2'],
      ['rmi', '-f', '--no-prune', 'me/bb:2'],
      ['commit', '-a', 'me', '-m', 'msg', '-c', 'ENV X=1', '-c', 'CMD ["sh"]', '--pause=false', 'target', 'snap:1'],
      ['events', '--since', '1700000000', '--until', '1700000001', '--filter', 'type=container'],
      ['volume', 'ls', '--filter', 'dangling=true'],
      ['network', 'ls', '--filter', 'driver=bridge'],
      ['system', 'df'],
      ['exec', '-e', 'A=1', '-w', '/tmp', '-u', '0', '--privileged', 'target', 'sh', '-c', 'exit 3'],
      ['exec', '-d', 'target', 'true'],
      ['exec', '-t', 'target', 'true'],
      ['exec', '-i', 'target', 'cat'],
      ['run', '--rm', '--network', 'none', 'busybox', 'true'],
      ['run', '-i', '--network', 'none', 'busybox', 'cat'],
      ['attach', '--no-stdin', 'nosuch'],
      ['cp', 'target:/etc/hostname', '-'],
      ['volume', 'create', '--label', 'a=b', '-o', 'type=tmpfs', '-o', 'device=tmpfs', 'vol1'],
      ['volume', 'rm', '-f', 'vol1'],
      ['network', 'create', '--label', 'a=b', '--internal', '--subnet', '10.77.0.0/24', '--gateway', '10.77.0.1', 'net1'],
      ['network', 'rm', 'net1'],
      ['pull', '127.0.0.1:9/team/app'],
      ['pull', '--platform', 'linux/amd64', `127.0.0.1:9/team/app@sha256:${'a'.repeat(64)}`],
      ['push', '127.0.0.1:9/team/app:1'],
      ['login', '-u', 'someone', '--password-stdin', '127.0.0.1:9'],
      ['save', 'busybox'],
      ['rename', 'target', 'target2'],
      ['wait', 'nosuch'],
      ['rm', '-f', '-v', 'target2'],
    ];
    for (const args of cases) {
      const input = args[0] === 'login' ? 'secret\n' : undefined;
      const d = await through('docker', args, input);
      const b = await through('berth', args, input);
      // requests with IDs and generated names evened out, and their JSON bodies
      const norm = (t: string) => t.replace(/[0-9a-f]{64}/g, 'ID');
      const calls = (r: typeof d) => r.requests.map((q) => {
        let body: unknown = q.body;
        try {
          body = q.body ? JSON.parse(norm(q.body)) : '';
        } catch {
          // not JSON (a tar): compared as is
        }
        const auth = q.auth === undefined ? undefined : JSON.parse(Buffer.from(q.auth, 'base64url').toString()) as unknown;
        return { call: norm(`${q.method} ${decodeURIComponent(q.path)}`), body, auth };
      });
      // the same calls; in the same order for run and exec (docker sends some of the others'
      // calls from goroutines, in no fixed order)
      const ordered = args[0] === 'run' || args[0] === 'exec';
      const sorted = (l: ReturnType<typeof calls>) => (ordered ? l : [...l].sort((x, y) => (x.call < y.call ? -1 : x.call > y.call ? 1 : 0)));
      assert.deepEqual(sorted(calls(b)), sorted(calls(d)), args.join(' '));
    }
  });
});
