// Runs containers from specs that buildSpec made, with berth's runtime library (as the daemon
// will): a fresh busybox bundle per container, a unique cgroup path, output in files. cleanup()
// deletes every container (and so its cgroups, mounts and processes) and every bundle, also when
// a test failed half-way.
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSpec, hostBoundingCapabilities } from '../../../../src/engine/containers/spec/build-spec.js';
import type { ContainerConfig, HostConfig, SpecInputs } from '../../../../src/engine/containers/api-types.js';
import { runContainer } from '../../../../src/runtime/container/run.js';
import type { Spec } from '../../../../src/runtime/spec/types.js';
import { makeBundle, type Bundle } from '../../../helpers/busybox.js';
import { cleanupDir, removeCgroupDir, RuntimeHarness } from '../../../helpers/runtime.js';

export interface SpecRun {
  code: number;
  stdout: string;
  stderr: string;
  spec: Spec;
  bundle: Bundle;
}

export class SpecRunner {
  private readonly rt = new RuntimeHarness();
  private readonly bundles: Bundle[] = [];
  private readonly cgroups: string[] = [];
  private seq = 0;

  /** A bundle with a busybox rootfs and an /etc/hosts file for the engine's side. */
  bundle(): Bundle {
    const b = makeBundle();
    this.bundles.push(b);
    writeFileSync(join(b.dir, 'hosts'), '127.0.0.1\tlocalhost\n');
    return b;
  }

  /** Builds the spec for `c` + `h` on a fresh bundle (or `b`) and runs it in the foreground. */
  async run(c: ContainerConfig, h: HostConfig = {}, inputs: Partial<SpecInputs> = {}, b: Bundle = this.bundle()): Promise<SpecRun> {
    const cgroupsPath = `/berth-test-spec-${process.pid}-${++this.seq}`;
    this.cgroups.push(cgroupsPath);
    const spec = buildSpec({ Hostname: 'probe', ...c }, { NetworkMode: 'none', ...h }, {
      rootfs: b.rootfs,
      cgroupsPath,
      hostCapabilities: hostBoundingCapabilities(),
      etcFiles: { hosts: join(b.dir, 'hosts') },
      ...inputs,
    });
    writeFileSync(join(b.dir, 'config.json'), JSON.stringify(spec, null, 2));
    const out = openSync(join(b.dir, 'stdout'), 'w+');
    const err = openSync(join(b.dir, 'stderr'), 'w+');
    try {
      const code = await runContainer(this.rt.ctx, this.rt.id('spec'), { bundle: b.dir, stdio: ['ignore', out, err] });
      return { code, stdout: readFileSync(join(b.dir, 'stdout'), 'utf8'), stderr: readFileSync(join(b.dir, 'stderr'), 'utf8'), spec, bundle: b };
    } finally {
      closeSync(out);
      closeSync(err);
    }
  }

  async cleanup(): Promise<void> {
    await this.rt.cleanup();
    for (const cg of this.cgroups) removeCgroupDir(cg.slice(1));
    for (const b of this.bundles) cleanupDir(b.dir);
  }
}

/** The value of a /proc/self/status line ("CapEff"), from a probe's output. */
export function statusField(output: string, name: string): string | undefined {
  return new RegExp(`^${name}:\\s*(\\S+)$`, 'm').exec(output)?.[1];
}

/** The capability mask of `names` as /proc/self/status prints it (16 hex digits). */
export function capMask(names: readonly string[], all: readonly string[]): string {
  let mask = 0n;
  for (const n of names) mask |= 1n << BigInt(all.indexOf(n));
  return mask.toString(16).padStart(16, '0');
}
