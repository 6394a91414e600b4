// A berthd for a test: its own data root, exec root, socket and parent cgroup under one temp
// directory, and its own network namespace (unshare --net), so its bridges, nftables tables and
// published ports never touch the host's network (and a host firewall cannot get in the way); `docker(...)` runs the real docker CLI against it; `restart()` kills it (SIGKILL, as a
// crash) or stops it and starts it again on the same roots; `stop()` removes every container,
// stops the daemon, and cleans up shims, every process in its cgroups (a CRI pod's too), mounts
// and cgroups even if a test failed, and fails if it cannot.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanupDir, processesMentioning, runCommand, waitFor, type Result, unmountUnder } from './runtime.js';
import { socketAnswers } from '../../src/sys/unix-socket.js';

export const BERTHD_BIN = fileURLToPath(new URL('../../../bin/berthd.mjs', import.meta.url));

export interface TestBerthd {
  dir: string;
  socket: string;
  host: string;
  cgroupParent: string;
  docker(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<Result>;
  /** Runs a command in the daemon's network namespace (the "host" its containers see). */
  inHostNetns(cmd: string[]): Promise<Result>;
  restart(how?: 'kill' | 'term'): Promise<void>;
  stop(): Promise<void>;
  log(): string;
}

/** The containerd API socket a test berthd serves (under its exec root). */
export const supervisorSocket = (d: Pick<TestBerthd, 'dir'>): string => join(d.dir, 'exec', 'supervisor.sock');

/** With `supervisorOnly`, berthd runs with --supervisor-only: ready when its supervisor socket answers. */
export async function startBerthd(opts: { extraArgs?: string[]; supervisorOnly?: boolean; dataRoot?: string } = {}): Promise<TestBerthd> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-d-'));
  const socket = join(dir, 'berth.sock');
  const cgroupParent = `/${dir.split('/').pop()}`;
  const logFile = join(dir, 'berthd.log');
  let child: ChildProcess | undefined;
  const docker = (args: string[], opts: { input?: string; timeoutMs?: number } = {}) =>
    runCommand('docker', ['-H', `unix://${socket}`, ...args], { input: opts.input, timeoutMs: opts.timeoutMs ?? 60_000 });
  const launch = async () => {
    const out = openSync(logFile, 'a');
    const berthd = [process.execPath, BERTHD_BIN, '--data-root', opts.dataRoot ?? join(dir, 'data'), '--exec-root', join(dir, 'exec'), '-H', `unix://${socket}`,
      '--cgroup-parent', cgroupParent, '--cri-cgroup-parent', cgroupParent, '--cni-conf-dir', join(dir, 'cni'), '--config-file', join(dir, 'daemon.json'), '--log-level', 'debug', ...(opts.supervisorOnly ? ['--supervisor-only'] : []), ...(opts.extraArgs ?? [])];
    // A restart keeps the namespace: the containers that kept running are plugged into it.
    const netns = join(dir, 'host.netns');
    if (!existsSync(netns)) {
      writeFileSync(netns, '');
      execFileSync('unshare', [`--net=${netns}`, 'ip', 'link', 'set', 'lo', 'up']);
    }
    child = spawn('nsenter', [`--net=${netns}`, '--', ...berthd], { stdio: ['ignore', out, out] });
    await waitFor(async () => {
      if (child!.exitCode !== null) throw new Error(`berthd exited: ${readFileSync(logFile, 'utf8').slice(-2000)}`);
      if (opts.supervisorOnly) return socketAnswers(join(dir, 'exec', 'supervisor.sock'));
      return (await docker(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 5000 })).code === 0;
    }, 20_000);
  };
  const halt = async (signal: NodeJS.Signals) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill(signal);
    await exited;
  };
  /** Stops the daemon, and kills, unmounts and removes whatever is left of it. */
  const sweep = async () => {
    await halt('SIGTERM');
    // What is left: shims and whatever else names the test's directory, and what names nothing
    // of it but sits in the daemon's cgroups: a CRI pod's /pause and its containers' processes,
    // reparented to init once their shim is killed. Killed until none is left, since a dying
    // shim's children may still be seen; a paused container's frozen processes would not act on
    // SIGKILL (cgroup v1), so frozen cgroups are thawed first.
    const left = () => [...new Set([...processesMentioning(dir), ...cgroupTreePids(cgroupParent)])];
    await waitFor(() => {
      thawCgroupTree(cgroupParent);
      const pids = left();
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      return pids.length === 0;
    }, 10_000).catch(() => {});
    unmountUnder(dir);
    const cgroupsLeft = await removeCgroupTree(cgroupParent);
    const processesLeft = left();
    cleanupDir(dir);
    // Said here, so the test file that leaked fails, not zz-leftovers at the end of the suite.
    if (processesLeft.length || cgroupsLeft.length) throw new Error(`test berthd ${dir}: left processes [${processesLeft.join(' ')}] and cgroups [${cgroupsLeft.join(' ')}]`);
  };
  try {
    await launch();
  } catch (err) {
    // No stop() will ever run for a daemon that never came up: what was made goes now.
    await sweep().catch(() => {});
    throw err;
  }
  return {
    dir, socket, host: `unix://${socket}`, cgroupParent, docker,
    inHostNetns: (cmd) => runCommand('nsenter', [`--net=${join(dir, 'host.netns')}`, '--', ...cmd], { timeoutMs: 30_000 }),
    log: () => readFileSync(logFile, 'utf8'),
    async restart(how = 'kill') {
      await halt(how === 'kill' ? 'SIGKILL' : 'SIGTERM');
      await launch();
    },
    async stop() {
      try {
        const ids = (await docker(['ps', '-aq'], { timeoutMs: 10_000 })).stdout.split('\n').filter(Boolean);
        if (ids.length) await docker(['rm', '-f', ...ids], { timeoutMs: 60_000 });
      } catch {
        // the daemon is gone: the sweep below does it
      }
      await sweep();
    },
  };
}

/** Every hierarchy's directory of a cgroup path (each v1 controller, and the v2 root). */
function cgroupDirs(relative: string): string[] {
  return ['', ...readdirSync('/sys/fs/cgroup')].map((h) => join('/sys/fs/cgroup', h, relative));
}

/** `dir` and every directory below it, parents before children; none if `dir` is not there. */
function subtree(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return [dir, ...entries.filter((e) => e.isDirectory()).flatMap((e) => subtree(join(dir, e.name)))];
}

/** The pids in a parent cgroup and every cgroup below it, in every hierarchy. */
function cgroupTreePids(relative: string): number[] {
  const pids = new Set<number>();
  for (const cg of cgroupDirs(relative).flatMap(subtree)) {
    try {
      for (const p of readFileSync(join(cg, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) pids.add(Number(p));
    } catch {
      // gone meanwhile, or not a cgroup directory
    }
  }
  return [...pids];
}

/** Thaws every frozen cgroup below a parent (v1 freezer.state, v2 cgroup.freeze). */
function thawCgroupTree(relative: string): void {
  for (const cg of cgroupDirs(relative).flatMap(subtree)) {
    for (const [file, frozen, thawed] of [['freezer.state', /FROZEN|FREEZING/, 'THAWED'], ['cgroup.freeze', /1/, '0']] as const) {
      try {
        if (frozen.test(readFileSync(join(cg, file), 'utf8'))) writeFileSync(join(cg, file), thawed);
      } catch {
        // no such file in this hierarchy, or gone
      }
    }
  }
}

/**
 * Removes a parent cgroup and everything below it in every hierarchy, deepest first, retrying for
 * a while (a cgroup whose last process is still exiting cannot be removed yet); returns what is left.
 */
async function removeCgroupTree(relative: string): Promise<string[]> {
  let left: string[] = [];
  await waitFor(() => {
    left = [];
    for (const cg of cgroupDirs(relative).flatMap(subtree).reverse()) {
      try {
        rmdirSync(cg);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') left.push(cg);
      }
    }
    return left.length === 0;
  }, 5000).catch(() => {});
  return left;
}
