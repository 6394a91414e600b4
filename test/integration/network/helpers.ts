// Harness for the network tests: a NetworkManager with its own state directory, default bridge,
// subnets and nftables table; "containers" that are network namespace files with busybox
// processes in them; and a cleanup that removes links, tables, namespaces and processes even when
// a test fails.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetworkManager, type NetworkManagerOptions } from '../../../src/network/manager.js';
import { createNetns, removeNetns } from '../../../src/network/netns.js';

const INSIDE = 'BERTH_NET_TEST_PRIVATE_HOST';

/**
 * Runs this test file again in a network namespace of its own, which plays the host: its own
 * links, routes, sysctls and nftables, so a firewall on the real host (e.g. the FORWARD drop
 * policy Docker's iptables leave behind, which nftables rules of another table cannot override)
 * cannot change the outcome, and nothing can leak onto the real host's network. The test runner
 * sees the inner run's report as this file's. Call it before declaring any test.
 */
export function inPrivateHost(): void {
  if (process.env[INSIDE]) return;
  const r = spawnSync('unshare', ['--net', '--', process.execPath, ...process.execArgv, process.argv[1]!], {
    stdio: 'inherit', env: { ...process.env, [INSIDE]: '1' },
  });
  process.exit(r.status ?? 1);
}

/** In the private host: loopback up (a new namespace starts with it down). */
export function privateHostSetup(): void {
  if (process.env[INSIDE]) sh('ip', ['link', 'set', 'lo', 'up']);
}

export const rand = (n = 3): string => randomBytes(n).toString('hex');

export function sh(cmd: string, args: string[], input?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${(r.stderr || r.stdout || r.error?.message || '').trim()}`);
  return r.stdout;
}

/** `count` distinct 10.250.x.0/24 subnets, chosen at random per run, none overlapping a host route. */
export function randomSubnets(count: number): string[] {
  const routes = sh('ip', ['-4', 'route', 'show']);
  const out = new Set<string>();
  while (out.size < count) {
    const s = `10.250.${1 + Math.floor(Math.random() * 254)}.0/24`;
    if (!routes.includes(s.replace('.0/24', '.'))) out.add(s);
  }
  return [...out];
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command (inside a namespace when `netns` is given) with a deadline. */
export function run(netns: string | undefined, args: string[], timeoutMs = 8000): Promise<RunResult> {
  const argv = netns ? ['nsenter', `--net=${netns}`, ...args] : args;
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 137, stdout, stderr });
    });
  });
}

/**
 * busybox wget of `url` from `netns` (or the host): the body, or undefined when it fails within
 * `timeoutS` (enforced by killing it: Debian 12's static busybox wget crashes with -T).
 */
export async function wget(netns: string | undefined, url: string, timeoutS = 3): Promise<string | undefined> {
  const r = await run(netns, ['busybox', 'wget', '-q', '-O', '-', url], timeoutS * 1000);
  return r.code === 0 ? r.stdout : undefined;
}

/** busybox nslookup NAME SERVER from `netns`: the addresses of the answer (the server's own line left out). */
export async function nslookup(netns: string, name: string, server: string, timeoutS = 3): Promise<{ ok: boolean; addresses: string[]; out: string }> {
  const r = await run(netns, ['busybox', 'nslookup', `-timeout=${timeoutS}`, '-retry=1', '-type=a', name, server], timeoutS * 2000 + 2000);
  const out = r.stdout + r.stderr;
  const answer = out.split(/\n\s*\n/).slice(1).join('\n');
  return { ok: r.code === 0, addresses: [...answer.matchAll(/Address(?: \d+)?:\s*([\d.]+)/g)].map((m) => m[1]!), out };
}

export interface FakeContainer {
  id: string;
  name: string;
  netns: string;
}

/** One test's world: a manager factory on one state dir, containers, processes, and their cleanup. */
export class NetTestEnv {
  readonly tag = rand(3);
  readonly stateDir: string;
  readonly netnsDir: string;
  readonly table = `bt_${this.tag}`;
  readonly defaultBridge = `bt${this.tag}`;
  private readonly procs: ChildProcess[] = [];
  private readonly managers: NetworkManager[] = [];
  private readonly containers: FakeContainer[] = [];
  private readonly extraLinks: string[] = [];
  private readonly extraNetns: string[] = [];
  readonly logs: string[] = [];

  constructor() {
    this.stateDir = mkdtempSync(join(tmpdir(), 'berth-nettest-state-'));
    this.netnsDir = mkdtempSync(join(tmpdir(), 'berth-nettest-ns-'));
  }

  manager(o: Partial<NetworkManagerOptions> = {}): NetworkManager {
    const m = new NetworkManager({
      stateDir: this.stateDir, defaultBridge: this.defaultBridge, nftTable: this.table,
      log: (level, msg) => this.logs.push(`${level}: ${msg}`), ...o,
    });
    this.managers.push(m);
    return m;
  }

  /** A "container": a namespace file with loopback up and a random 64-hex ID. */
  container(name: string): FakeContainer {
    const id = randomBytes(32).toString('hex');
    const c = { id, name, netns: createNetns(this.netnsDir, `${name}-${this.tag}`) };
    this.containers.push(c);
    return c;
  }

  /** Removes a container's namespace file (as the engine does when a container is gone). */
  dropContainer(c: FakeContainer): void {
    removeNetns(c.netns);
  }

  /** Starts `busybox httpd` on port 80 in the container, serving `body` at /. */
  httpd(c: FakeContainer, body: string, port = 80): ChildProcess {
    const dir = join(this.netnsDir, `www-${c.name}-${port}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'index.html'), body);
    return this.spawn(c.netns, ['busybox', 'httpd', '-f', '-p', String(port), '-h', dir]);
  }

  /** A long-running process in `netns` (or on the host), killed at cleanup. */
  spawn(netns: string | undefined, args: string[]): ChildProcess {
    const argv = netns ? ['nsenter', `--net=${netns}`, ...args] : args;
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
    this.procs.push(child);
    return child;
  }

  /** A link the test made itself (e.g. the veth to a fake other host), deleted at cleanup. */
  ownLink(name: string): void {
    this.extraLinks.push(name);
  }

  /** A namespace made with `ip netns add`, deleted at cleanup. */
  ownNetns(name: string): void {
    this.extraNetns.push(name);
  }

  async cleanup(): Promise<void> {
    for (const p of this.procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    await Promise.all(this.procs.map((p) => (p.exitCode === null && p.signalCode === null ? new Promise((r) => p.once('exit', r)) : undefined)));
    for (const m of this.managers) await m.close().catch(() => {});
    // A fresh manager on the state knows every network and endpoint any of them made.
    const last = new NetworkManager({ stateDir: this.stateDir, defaultBridge: this.defaultBridge, nftTable: this.table });
    await last.destroyAll().catch(() => {});
    for (const c of this.containers) removeNetns(c.netns);
    for (const l of this.extraLinks) spawnSync('ip', ['link', 'del', l]);
    for (const n of this.extraNetns) spawnSync('ip', ['netns', 'del', n]);
    // Whatever carries this test's tag and is still there: bridges, the table.
    for (const l of linksTagged(this.tag)) spawnSync('ip', ['link', 'del', l]);
    spawnSync('nft', ['delete', 'table', 'inet', this.table]);
    spawnSync('nft', ['delete', 'table', 'ip', this.table]);
    if (readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === this.netnsDir)) spawnSync('umount', ['--lazy', this.netnsDir]);
    rmSync(this.netnsDir, { recursive: true, force: true });
    rmSync(this.stateDir, { recursive: true, force: true });
  }
}

export function linksTagged(tag: string): string[] {
  return sh('ip', ['-o', 'link', 'show']).split('\n').map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1]).filter((n): n is string => !!n && n.includes(tag));
}

/** Host links whose names start with "veth". */
export function vethNames(): string[] {
  return sh('ip', ['-o', 'link', 'show']).split('\n').map((l) => /^\d+: (veth[^:@]*)/.exec(l)?.[1]).filter((n): n is string => !!n);
}

/** Waits until `probe` returns a value other than undefined, or the deadline passes. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 5000, stepMs = 100): Promise<T | undefined> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** One DNS query over UDP from the test process: the rcode and A records of the answer. */
export async function dnsQuery(server: string, name: string, type = 1, port = 53, timeoutMs = 6000): Promise<{ rcode: number; addresses: string[] } | undefined> {
  const { createSocket } = await import('node:dgram');
  const { buildQuery, answerAddresses, rcodeOf } = await import('../../../src/network/dns/message.js');
  const sock = createSocket('udp4');
  const id = Math.floor(Math.random() * 65535);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      sock.close();
      resolve(undefined);
    }, timeoutMs);
    sock.on('message', (m) => {
      clearTimeout(timer);
      sock.close();
      resolve({ rcode: rcodeOf(m)!, addresses: answerAddresses(m) });
    });
    sock.send(buildQuery(id, name, type), port, server);
  });
}
