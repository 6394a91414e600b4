// `create`: check the bundle, claim the id, make the cgroups, launch the init with the plan, run
// the runtime-side hooks, and leave the container waiting for `start`. On any failure nothing is
// left behind: no cgroup, no process, no state directory.
import { resolve } from 'node:path';
import { BerthError } from '../../common/errors.js';
import { boundingCapabilities, procStat } from '../../sys/proc.js';
import { type CgroupManager, openCgroupManager } from '../cgroups/manager.js';
import { v2DeviceRulesUnsupported } from '../cgroups/devices.js';
import { type Command, launch, type Launch, type LaunchOptions } from '../launch.js';
import { buildCreatePlan } from '../plan/create-plan.js';
import type { CgroupMountSource } from '../plan/rootfs.js';
import { compileSeccomp } from '../seccomp/compile.js';
import { OCI_VERSION } from '../spec/default.js';
import type { DeviceCgroupRule, Resources, Spec, State } from '../spec/types.js';
import { loadBundle } from '../spec/validate.js';
import { checkId, type ContainerRecord } from '../state-store.js';
import { runHooks } from '../hooks.js';
import type { RuntimeContext } from './context.js';

export interface CreateOptions {
  bundle: string;
  consoleSocket?: string;
  pidFile?: string;
  noPivot?: boolean;
  preserveFds?: number;
  stdio?: LaunchOptions['stdio'];
  /** Launch the init through another program (berth-shim); it learns the container's cgroups. */
  wrap?: (init: Command, cgroupPaths: Record<string, string>) => Command;
  onSpawn?: LaunchOptions['onSpawn'];
  /** Keep the init's stage 0 as the container's waiting parent (foreground `run`). */
  wait?: boolean;
}

export interface Created {
  record: ContainerRecord;
  launch: Launch;
}

export async function createContainer(ctx: RuntimeContext, id: string, opts: CreateOptions): Promise<Created> {
  checkId(id);
  const bundle = loadBundle(opts.bundle);
  const { spec } = bundle;
  const seccomp = spec.linux?.seccomp ? compileSeccomp(spec.linux.seccomp) : undefined;
  if (seccomp?.usesNotify && !spec.linux?.seccomp?.listenerPath) throw new BerthError('INVALID_ARGUMENT', 'linux.seccomp.listenerPath: SCMP_ACT_NOTIFY needs a listener');
  if (seccomp?.usesNotify) throw new BerthError('NOT_IMPLEMENTED', 'linux.seccomp: SCMP_ACT_NOTIFY is not supported by berth-runtime yet');

  ctx.store.reserve(id);
  let cgroups: CgroupManager | undefined;
  let pid = 0;
  try {
    cgroups = openCgroupManager({ id, cgroupsPath: spec.linux?.cgroupsPath });
    const resources = withDefaultDevices(spec);
    const record: ContainerRecord = {
      id,
      pid: 0,
      pidStartTime: 0,
      bundle: bundle.dir,
      rootfs: bundle.rootfs,
      created: new Date().toISOString(),
      owner: '',
      config: spec,
      cgroupPaths: cgroups.paths(),
    };
    // Saved before anything is made: a caller killed from here on leaves a state that delete
    // cleans up (its cgroups included).
    ctx.store.save(record);
    await cgroups.create(resources);
    // Device rules on v2 need an eBPF program we cannot load yet: say so rather than pretend.
    const unenforced = cgroups.version === 2 ? v2DeviceRulesUnsupported(resources) : undefined;
    if (unenforced) ctx.warn?.(unenforced);
    const plan = buildCreatePlan({
      spec,
      bundle: bundle.dir,
      rootfs: bundle.rootfs,
      fifoPath: ctx.store.fifoPath(id),
      cgroupProcs: cgroups.procsFiles(),
      cgroupMounts: cgroupMountSources(cgroups.paths()),
      consoleSocket: opts.consoleSocket,
      pidFile: opts.pidFile ? resolve(opts.pidFile) : undefined,
      noPivot: opts.noPivot ?? false,
      preserveFds: opts.preserveFds ?? 0,
      wait: opts.wait ?? false,
      seccomp,
      hostCaps: boundingCapabilities(),
    }).finish();
    const stateFor = (status: State['status']): State => ({ ociVersion: OCI_VERSION, id, status, pid, bundle: bundle.dir, ...(spec.annotations ? { annotations: spec.annotations } : {}) });
    const l = launch({
      plan,
      stdio: opts.stdio ?? ['inherit', 'inherit', 'inherit'],
      preserveFds: opts.preserveFds,
      wrap: opts.wrap ? (init) => opts.wrap!(init, cgroups!.paths()) : undefined,
      onSpawn: opts.onSpawn,
      onHooks: async () => {
        await runHooks(spec.hooks?.prestart, stateFor('creating'), 'prestart');
        await runHooks(spec.hooks?.createRuntime, stateFor('creating'), 'createRuntime');
        return Buffer.from(JSON.stringify(stateFor('creating')));
      },
    });
    pid = await l.pid;
    record.pid = pid;
    record.pidStartTime = procStat(pid)?.startTime ?? 0;
    await Promise.race([l.ready, l.finished.then(() => { throw new BerthError('INTERNAL', 'container init ended before it was ready'); })]);
    ctx.store.save(record);
    return { record, launch: l };
  } catch (err) {
    if (pid > 0) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    await cgroups?.destroy().catch(() => {});
    ctx.store.remove(id);
    throw err;
  }
}

// The devices every container may use whatever its rules say (runc's allowed list), then the
// spec's own rules, then its linux.devices.
const ALLOWED_DEVICES: DeviceCgroupRule[] = [
  { allow: true, type: 'c', major: null, minor: null, access: 'm' },
  { allow: true, type: 'b', major: null, minor: null, access: 'm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' },
  { allow: true, type: 'c', major: 136, minor: null, access: 'rwm' },
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' },
];

function withDefaultDevices(spec: Spec): Resources | undefined {
  const resources = spec.linux?.resources;
  if (!resources?.devices) return resources;
  // As runc: the default devices are appended; linux.devices get only the access the spec's own
  // rules give them (Docker's `--device X:Y:r` must stay unwritable).
  return { ...resources, devices: [...resources.devices, ...ALLOWED_DEVICES] };
}

/** One directory per cgroup hierarchy, named as the host names it ("cpu,cpuacct"; "" for v2). */
export function cgroupMountSources(paths: Record<string, string>): CgroupMountSource[] {
  if (Object.keys(paths).length === 1 && '' in paths) return [{ name: '', hostDir: paths['']! }];
  const byDir = new Map<string, string[]>();
  for (const [controller, dir] of Object.entries(paths)) byDir.set(dir, [...(byDir.get(dir) ?? []), controller.replace(/^name=/, '')]);
  return [...byDir].map(([hostDir, names]) => ({ name: names.sort().join(','), hostDir }));
}
