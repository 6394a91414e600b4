// Running the kernel's tools (ip, nft, nsenter) and writing sysctls. Every call is asynchronous so
// berthd keeps serving while links are made; failures carry the tool's own message.
import { spawn } from 'node:child_process';
import { writeFile, readFile } from 'node:fs/promises';
import { BerthError } from '../common/errors.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cmd args` with `input` on stdin; never throws for a non-zero exit. */
export function runTool(cmd: string, args: string[], input?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => reject(new BerthError('UNAVAILABLE', `cannot run ${cmd}: ${e.message} (is it installed? see scripts/install-deps.sh)`)));
    child.on('close', (code, signal) => {
      resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => {}); // a tool that exits early closes its stdin; the exit code tells
    child.stdin.end(input ?? '');
  });
}

/** Runs a tool and throws its stderr as an INTERNAL error when it fails. */
export async function mustRun(what: string, cmd: string, args: string[], input?: string): Promise<string> {
  const r = await runTool(cmd, args, input);
  if (r.code !== 0) throw new BerthError('INTERNAL', `${what}: ${(r.stderr || r.stdout || `${cmd} exited ${r.code}`).trim()}`);
  return r.stdout;
}

/** `ip -batch -` on the host: one process for several link changes; stops at the first error. */
export function ipBatch(what: string, lines: string[]): Promise<string> {
  return mustRun(what, 'ip', ['-batch', '-'], lines.join('\n') + '\n');
}

/** `ip -batch -` inside the network namespace file `netnsPath`. */
export function ipBatchIn(netnsPath: string, what: string, lines: string[]): Promise<string> {
  return mustRun(what, 'nsenter', [`--net=${netnsPath}`, 'ip', '-batch', '-'], lines.join('\n') + '\n');
}

/** `ip -j ARGS` parsed; [] when ip prints nothing. */
export async function ipJson<T>(args: string[]): Promise<T[]> {
  const out = await mustRun(`ip ${args.join(' ')}`, 'ip', ['-j', ...args]);
  return out.trim() ? (JSON.parse(out) as T[]) : [];
}

/** Names of the host's links. */
export async function linkNames(): Promise<Set<string>> {
  return new Set((await ipJson<{ ifname: string }>(['link', 'show'])).map((l) => l.ifname));
}

export async function linkExists(name: string): Promise<boolean> {
  const r = await runTool('ip', ['link', 'show', 'dev', name]);
  return r.code === 0;
}

/** Sets /proc/sys/KEY (slashes, so interface names may hold dots) when it differs; returns whether it changed. */
export async function setSysctl(key: string, value: string): Promise<boolean> {
  const path = `/proc/sys/${key}`;
  const cur = (await readFile(path, 'utf8')).trim();
  if (cur === value) return false;
  await writeFile(path, value);
  return true;
}

export async function readSysctl(key: string): Promise<string | undefined> {
  try {
    return (await readFile(`/proc/sys/${key}`, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

export interface HostRoute {
  dst: string;
  dev: string;
}

/** IPv4 routes of the host's main table, the default route left out ("10.0.0.1" is a /32). */
export async function hostRoutes(): Promise<HostRoute[]> {
  const routes = await ipJson<{ dst: string; dev?: string }>(['-4', 'route', 'show', 'table', 'main']);
  return routes.filter((r) => r.dst !== 'default').map((r) => ({ dst: r.dst.includes('/') ? r.dst : `${r.dst}/32`, dev: r.dev ?? '' }));
}
