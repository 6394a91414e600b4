// Config.User ("uid", "name", "uid:gid", "name:group", "") and HostConfig.GroupAdd resolved
// against the container's own /etc/passwd and /etc/group, with runc's libcontainer/user rules as
// Docker uses them: a numeric user need not exist, a name must; an explicit group replaces the
// primary group and drops the supplementary ones.
import { invalid } from '../common/errors.js';
import { readRootfsFile } from './rootfs-files.js';

/** A process's user as the OCI spec's process.user takes it. */
export interface User {
  uid: number;
  gid: number;
  additionalGids?: number[];
}

const MAX_ID = 2 ** 31 - 1;
const RANGE_ERROR = 'uids and gids must be in range 0-2147483647';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

// A field that is not a number counts as 0, as runc's parser leaves it.
const num = (s: string | undefined): number => (s !== undefined && /^\d+$/.test(s) ? Number(s) : 0);

const lines = (text: string): string[][] =>
  text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.split(':'));

export function parsePasswd(text: string): PasswdEntry[] {
  return lines(text).map((f) => ({ name: f[0] ?? '', uid: num(f[2]), gid: num(f[3]), home: f[5] ?? '' }));
}

export function parseGroup(text: string): GroupEntry[] {
  return lines(text).map((f) => ({ name: f[0] ?? '', gid: num(f[2]), members: (f[3] ?? '').split(',').map((m) => m.trim()).filter(Boolean) }));
}

/** A decimal id as runc's strconv.Atoi reads it, or undefined when `s` is not a number. */
function parseId(s: string): number | undefined {
  return /^[+-]?\d+$/.test(s) ? Number(s) : undefined;
}

function checkRange(id: number, field: string): number {
  if (id < 0 || id > MAX_ID) throw invalid(`${field}: ${RANGE_ERROR}`);
  return id;
}

export interface UserDatabase {
  /** undefined: the container has no /etc/passwd (then only numeric users work). */
  passwd?: PasswdEntry[];
  group?: GroupEntry[];
}

/** Reads the container's /etc/passwd and /etc/group, never following a link out of `rootfs`. */
export function readUserDatabase(rootfs: string): UserDatabase {
  const passwd = readRootfsFile(rootfs, '/etc/passwd');
  const group = readRootfsFile(rootfs, '/etc/group');
  return { passwd: passwd === undefined ? undefined : parsePasswd(passwd), group: group === undefined ? undefined : parseGroup(group) };
}

/**
 * The process user for `spec` (Config.User) plus `groupAdd` (HostConfig.GroupAdd):
 * additionalGids are the primary gid, then the user's supplementary groups, then GroupAdd, in
 * Docker's order.
 */
export function resolveUser(spec: string | undefined, groupAdd: readonly string[] | null | undefined, db: UserDatabase): User {
  const field = 'Config.User';
  const [userArg = '', groupArg = ''] = splitUserSpec(spec ?? '');
  const uidArg = parseId(userArg);
  const gidArg = parseId(groupArg);

  let uid = 0;
  let gid = 0;
  let matchedName = '';
  const users = (db.passwd ?? []).filter((u) => (userArg === '' ? u.uid === 0 : uidArg !== undefined ? u.uid === uidArg : u.name === userArg));
  if (users.length > 0) {
    // The first match wins, even when there are more.
    matchedName = users[0]!.name;
    uid = users[0]!.uid;
    gid = users[0]!.gid;
  } else if (userArg !== '') {
    if (uidArg === undefined) throw invalid(`${field}: unable to find user ${userArg}: no matching entries in passwd file`);
    uid = checkRange(uidArg, field);
  }

  let supplementary: number[] = [];
  if (groupArg !== '') {
    const g = (db.group ?? []).find((e) => (gidArg !== undefined ? e.gid === gidArg : e.name === groupArg));
    if (g) gid = g.gid;
    else if (gidArg === undefined) throw invalid(`${field}: unable to find group ${groupArg}: no matching entries in group file`);
    else gid = checkRange(gidArg, field);
  } else if (matchedName !== '') {
    supplementary = (db.group ?? []).filter((g) => g.members.includes(matchedName)).map((g) => g.gid);
  }

  return { uid, gid, additionalGids: [gid, ...supplementary, ...additionalGroups(groupAdd, db.group)] };
}

/** "user:group" -> ["user", "group"]; a third field and beyond are ignored, as runc does. */
function splitUserSpec(spec: string): string[] {
  return spec.trim().split(':');
}

/**
 * HostConfig.GroupAdd: each entry a group name or gid of the container's /etc/group, or a number
 * that need not exist there; duplicates are listed once.
 */
export function additionalGroups(names: readonly string[] | null | undefined, groups: GroupEntry[] | undefined): number[] {
  const out: number[] = [];
  (names ?? []).forEach((ag, i) => {
    const field = `HostConfig.GroupAdd[${i}]`;
    if (typeof ag !== 'string' || ag === '') throw invalid(`${field}: must be a group name or id`);
    const g = (groups ?? []).find((e) => e.name === ag || String(e.gid) === ag);
    let gid: number;
    if (g) gid = g.gid;
    else {
      const n = parseId(ag);
      if (n === undefined) throw invalid(`${field}: Unable to find group ${ag}: no matching entries in group file`);
      gid = checkRange(n, field);
    }
    if (!out.includes(gid)) out.push(gid);
  });
  return out;
}
