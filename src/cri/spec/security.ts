// A pod's or container's security context as containerd's CRI applies it: the seccomp profile
// (RuntimeDefault is berth's default profile, Localhost a Docker-format JSON file on the node, an
// absent profile is unconfined as in containerd 1.6), capabilities added and dropped, and the
// process user from run_as_user / run_as_group / run_as_username and the image's user database.
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { BerthError, invalid } from '../../common/errors.js';
import type { Message } from '../../common/grpc/service-def.js';
import { resolveUser, type UserDatabase } from '../../image/user-database.js';
import { compileSeccomp } from '../../runtime/seccomp/compile.js';
import { defaultSeccompProfile } from '../../runtime/seccomp/default-profile.js';
import { nativeArch, parseDockerProfile, parseKernelVersion, toOciSeccomp } from '../../runtime/seccomp/docker-profile.js';
import type { Seccomp, User } from '../../runtime/spec/types.js';

/** The profile a SecurityProfile (or the deprecated path field) selects; undefined is unconfined. */
export function criSeccomp(profile: Message | null | undefined, deprecatedPath: string | undefined, privileged: boolean, bounding: readonly string[], field: string): Seccomp | undefined {
  if (privileged) return undefined;
  const ctx = { arch: nativeArch(), bounding, kernel: parseKernelVersion(release()) };
  let kind: string;
  let ref = '';
  if (profile) {
    kind = String(profile.profile_type);
    ref = String(profile.localhost_ref ?? '');
  } else if (deprecatedPath) {
    // "runtime/default", "docker/default", "unconfined", "localhost/<path>"
    if (deprecatedPath === 'unconfined') kind = 'Unconfined';
    else if (deprecatedPath === 'runtime/default' || deprecatedPath === 'docker/default') kind = 'RuntimeDefault';
    else if (deprecatedPath.startsWith('localhost/')) {
      kind = 'Localhost';
      ref = deprecatedPath.slice('localhost/'.length);
    } else throw invalid(`${field}: unknown seccomp profile "${deprecatedPath}"`);
  } else return undefined;
  if (kind === 'Unconfined') return undefined;
  if (kind === 'RuntimeDefault') return toOciSeccomp(defaultSeccompProfile(), ctx, 'default seccomp profile');
  if (kind !== 'Localhost') throw invalid(`${field}: unknown seccomp profile type ${kind}`);
  if (!ref.startsWith('/')) throw invalid(`${field}: the localhost seccomp profile "${ref}" must be an absolute path on the node`);
  let text: string;
  try {
    text = readFileSync(ref, 'utf8');
  } catch (err) {
    throw invalid(`${field}: cannot load seccomp profile "${ref}": ${(err as Error).message}`);
  }
  const seccomp = toOciSeccomp(parseDockerProfile(text, `seccomp profile ${ref}`), ctx, `seccomp profile ${ref}`);
  if (seccomp) {
    try {
      compileSeccomp(seccomp, `seccomp profile ${ref}`);
    } catch (err) {
      if (err instanceof BerthError) throw invalid(err.message);
      throw err;
    }
  }
  return seccomp;
}

const int64 = (v: Message | null | undefined): number | undefined => (v ? Number(v.value) : undefined);

/**
 * The process user. run_as_username names a user of the image; run_as_user a uid (its primary
 * group from the image's passwd when run_as_group is absent); else the image's USER. Supplemental
 * groups come after the user's own, as containerd adds them.
 */
export function criUser(sc: Message | null | undefined, imageUser: string | undefined, db: UserDatabase, field: string): User {
  const uid = int64(sc?.run_as_user);
  const gid = int64(sc?.run_as_group);
  const username = sc?.run_as_username ? String(sc.run_as_username) : '';
  if (gid !== undefined && uid === undefined && !username) throw invalid(`user group "${gid}" is specified without user`);
  let spec: string;
  if (username) spec = username;
  else if (uid !== undefined) spec = String(uid);
  else spec = imageUser ?? '';
  if (gid !== undefined) {
    if (spec === '') spec = '0';
    spec = `${spec.split(':')[0]}:${gid}`;
  }
  let user: User;
  try {
    user = resolveUser(spec, [], db);
  } catch (err) {
    throw invalid(`${field}: ${(err as Error).message.replace(/^Config\.User: /, '')}`);
  }
  const extra = ((sc?.supplemental_groups ?? []) as unknown[]).map(Number);
  return { ...user, additionalGids: [...new Set([...(user.additionalGids ?? [user.gid]), ...extra])] };
}
