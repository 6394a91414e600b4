// Which seccomp profile a container runs with, as Docker's WithSeccomp decides: none for
// "seccomp=unconfined" and for a privileged container (unless it names its own profile), the
// profile given as JSON, else the default, each reduced to the container's architecture,
// capabilities and kernel.
import { release } from 'node:os';
import { BerthError, invalid } from '../../../../common/errors.js';
import { compileSeccomp } from '../../../../runtime/seccomp/compile.js';
import type { Seccomp } from '../../../../runtime/spec/types.js';
import { defaultSeccompProfile } from '../../../../runtime/seccomp/default-profile.js';
import { nativeArch, parseDockerProfile, parseKernelVersion, toOciSeccomp } from '../../../../runtime/seccomp/docker-profile.js';

export interface SeccompChoice {
  /** The value of "seccomp=…" in SecurityOpt, if any. */
  option?: string;
  privileged: boolean;
  /** The container's bounding capabilities. */
  bounding: readonly string[];
  /** Node's process.arch (default: this host's). */
  arch?: string;
  /** uname -r (default: this host's). */
  kernelRelease?: string;
}

export function containerSeccomp(o: SeccompChoice): Seccomp | undefined {
  const ctx = { arch: nativeArch(o.arch), bounding: o.bounding, kernel: parseKernelVersion(o.kernelRelease ?? release()) };
  const opt = o.option;
  if (opt === 'unconfined') return undefined;
  const custom = opt !== undefined && opt !== '' && opt !== 'builtin';
  if (o.privileged && !custom) return undefined;
  if (!custom) return toOciSeccomp(defaultSeccompProfile(), ctx, 'default seccomp profile');

  const field = 'HostConfig.SecurityOpt seccomp';
  if (!opt.trimStart().startsWith('{')) {
    throw invalid(`${field}: "${opt.length > 40 ? `${opt.slice(0, 40)}…` : opt}" is not a profile: give "unconfined" or the profile's JSON (the docker CLI sends the file's content)`);
  }
  const profile = toOciSeccomp(parseDockerProfile(opt, field), ctx, `${field} profile`);
  if (profile) checkCompiles(profile, `${field} profile`);
  return profile;
}

// A profile the runtime would refuse is refused now, with the request's field in the message.
function checkCompiles(profile: Seccomp, field: string): void {
  try {
    compileSeccomp(profile, field);
  } catch (err) {
    if (err instanceof BerthError) throw invalid(err.message);
    throw err;
  }
}
