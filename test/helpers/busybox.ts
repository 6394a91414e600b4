// Test images made offline from Debian's busybox-static: a rootfs with busybox and its applets,
// and an OCI bundle around it.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultSpec } from '../../src/runtime/spec/default.js';
import type { Spec } from '../../src/runtime/spec/types.js';

export const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p)) ?? '/bin/busybox';

let applets: string[] | undefined;

/** Fills `dir` with a busybox root filesystem. */
export function makeBusyboxRootfs(dir: string): void {
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} missing: apt-get install busybox-static`);
  for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root', 'var', 'home']) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync(BUSYBOX, join(dir, 'bin', 'busybox'));
  applets ??= execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
  for (const a of applets) symlinkSync('busybox', join(dir, 'bin', a));
  writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  writeFileSync(join(dir, 'etc', 'group'), 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n');
}

export interface Bundle {
  dir: string;
  rootfs: string;
  spec: Spec;
  /** Rewrites config.json after changing `spec`. */
  save(): void;
}

/** A bundle in a fresh temp dir: busybox rootfs, runc's default config, no terminal, `args`. */
export function makeBundle(args: string[] = ['true'], edit?: (spec: Spec) => void): Bundle {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bundle-'));
  chmodSync(dir, 0o755); // a container root in a user namespace must be able to reach its rootfs
  const rootfs = join(dir, 'rootfs');
  makeBusyboxRootfs(rootfs);
  const spec = defaultSpec();
  spec.process!.terminal = false;
  spec.process!.args = args;
  edit?.(spec);
  const bundle: Bundle = { dir, rootfs, spec, save: () => writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 2)) };
  bundle.save();
  return bundle;
}

/** Makes a busybox root filesystem under `work` and imports it into the daemon as `ref` (bb:latest). */
export async function importBusyboxImage(d: { docker(args: string[]): Promise<{ code: number; stderr: string }> }, work: string, ref = 'bb:latest'): Promise<void> {
  makeBusyboxRootfs(join(work, 'rootfs'));
  execFileSync('tar', ['-C', join(work, 'rootfs'), '-cf', join(work, 'rootfs.tar'), '.']);
  const r = await d.docker(['import', join(work, 'rootfs.tar'), ref]);
  if (r.code !== 0) throw new Error(`docker import: ${r.stderr}`);
}
