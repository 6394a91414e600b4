// The value parsers behind `run`/`create` flags, as the docker CLI reads them: env and label
// files, -p specs, --restart, --ulimit, --device, capabilities, --security-opt, --mount.
import { readFileSync } from 'node:fs';
import { UsageError } from '../flags.js';
import { ramInBytes } from '../output/units.js';

export const fail = (msg: string): never => {
  throw new UsageError(msg);
};

// ---------------------------------------------------------------- small parsers

/** "A=1" stays, "A" takes the host's value when it has one (else stays, for the daemon to drop). */
export function envValue(v: string, env: NodeJS.ProcessEnv): string {
  const eq = v.indexOf('=');
  const key = eq < 0 ? v : v.slice(0, eq);
  if (!key) fail(`invalid environment variable: ${v}`);
  if (eq >= 0) return v;
  return env[key] !== undefined ? `${key}=${env[key]}` : v;
}

/** Docker's env/label files: one VAR=value a line, # comments, VAR alone from the environment. */
export function readKVFile(path: string, env: NodeJS.ProcessEnv, what: 'env' | 'label'): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return fail(`open ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
  }
  const out: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/^\s+/, '');
    if (!line || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq);
    if (!key) fail(`no variable name on line '${line}'`);
    if (/\s/.test(key)) fail(`variable '${key}' contains whitespaces (${path}:${i + 1})`);
    if (eq >= 0) out.push(line);
    else if (what === 'label') out.push(key);
    else if (env[key] !== undefined) out.push(`${key}=${env[key]}`);
  });
  return out;
}

export function kvMap(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq < 0) out[item] = '';
    else out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

export function parsePortRange(s: string): [number, number] | undefined {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) return undefined;
  const a = Number(m[1]);
  const b = m[2] !== undefined ? Number(m[2]) : a;
  if (a > 65535 || b > 65535 || b < a) return undefined;
  return [a, b];
}

export interface PortMapping {
  port: string; // "80/tcp"
  hostIp: string;
  hostPort: string;
}

export function isIP(s: string): boolean {
  return /^(\d{1,3}\.){3}\d{1,3}$/.test(s) || (s.includes(':') && /^[0-9a-fA-F:.]+$/.test(s));
}

/** nat.ParsePortSpec: ip:hostPort:containerPort/proto with ranges. */
export function parsePortSpec(raw: string): PortMapping[] {
  const parts = raw.split(':');
  const n = parts.length;
  let containerPort = parts[n - 1]!;
  let ip = '';
  let hostPort = '';
  if (n === 2) hostPort = parts[0]!;
  else if (n === 3) [ip, hostPort] = [parts[0]!, parts[1]!];
  else if (n > 3) [ip, hostPort] = [parts.slice(0, n - 2).join(':'), parts[n - 2]!];
  let proto = 'tcp';
  const slash = containerPort.indexOf('/');
  if (slash >= 0) {
    proto = containerPort.slice(slash + 1) || 'tcp';
    containerPort = containerPort.slice(0, slash);
  }
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  if (ip && !isIP(ip)) fail(`invalid IP address: ${ip}`);
  if (!containerPort) fail(`no port specified: ${raw}<empty>`);
  const cr = parsePortRange(containerPort) ?? fail(`invalid containerPort: ${containerPort}`);
  let hr: [number, number] = [0, 0];
  if (hostPort) hr = parsePortRange(hostPort) ?? fail(`invalid hostPort: ${hostPort}`);
  if (hostPort && cr[1] - cr[0] !== hr[1] - hr[0] && cr[1] !== cr[0]) {
    fail(`invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`);
  }
  proto = proto.toLowerCase();
  if (!['tcp', 'udp', 'sctp'].includes(proto)) fail(`invalid proto: ${proto}`);
  const out: PortMapping[] = [];
  for (let i = 0; i <= cr[1] - cr[0]; i++) {
    let hp = hostPort ? String(hr[0] + i) : '';
    if (cr[0] === cr[1] && hr[0] !== hr[1]) hp = `${hp}-${hr[1]}`;
    out.push({ port: `${cr[0] + i}/${proto}`, hostIp: ip, hostPort: hp });
  }
  return out;
}

/** --publish's long syntax (target=80,published=8080,protocol=udp,host_ip=…) to the short one. */
export function publishToShort(v: string): string {
  if (!/(^|,)(target|published|protocol|mode|host_ip)=/.test(v)) return v;
  const f = kvMap(v.split(','));
  if (!f.target) fail(`invalid publish opts format (target is required): ${v}`);
  const hostPart = f.published ? `${f.host_ip ? `${f.host_ip}:` : ''}${f.published}:` : '';
  return `${hostPart}${f.target}/${f.protocol ?? 'tcp'}`;
}

export function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]!]));
}

/** "no", "always", "unless-stopped", "on-failure[:N]". */
/**
 * `--restart NAME[:COUNT]`. `run`/`create` check the policy as the docker CLI does; `update`
 * (`knownOnly: false`) checks only the format, as docker's ParseRestartPolicy, and leaves the
 * name for the daemon to judge.
 */
export function parseRestartPolicy(v: string, o: { knownOnly?: boolean } = {}): { Name: string; MaximumRetryCount: number } {
  const knownOnly = o.knownOnly ?? true;
  if (v === '') return { Name: '', MaximumRetryCount: 0 };
  const [name = '', count, ...extra] = v.split(':');
  if (extra.length) fail(`invalid restart policy format: ${v}`);
  if (knownOnly && !['no', 'always', 'unless-stopped', 'on-failure'].includes(name)) fail(`invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  if (!knownOnly && count !== undefined && name === '') fail('invalid restart policy format: no policy provided before colon');
  if (count !== undefined) {
    if (knownOnly && name !== 'on-failure') fail(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
    // docker's Atoi: update passes a negative count on for the daemon to refuse
    if (!(knownOnly ? /^\d+$/ : /^-?\d+$/).test(count)) fail(`invalid restart policy format: maximum retry count must be an integer`);
  }
  return { Name: name, MaximumRetryCount: count ? Number(count) : 0 };
}

export function parseUlimit(v: string): { Name: string; Hard: number; Soft: number } {
  const eq = v.indexOf('=');
  if (eq < 0) fail(`invalid ulimit argument: ${v}`);
  const name = v.slice(0, eq);
  const [soft, hard, ...more] = v.slice(eq + 1).split(':');
  const num = (s: string | undefined) => (s !== undefined && /^-?\d+$/.test(s) ? Number(s) : fail(`invalid ulimit argument: ${v}`));
  if (more.length) fail(`too many limit value arguments - ${v.slice(eq + 1)}, can only have up to two, \`soft[:hard]\``);
  const s = num(soft);
  const h = hard !== undefined ? num(hard) : s;
  if (s > h && h !== -1) fail(`ulimit soft limit must be less than or equal to hard limit: ${s} > ${h}`);
  return { Name: name, Hard: h, Soft: s };
}

export function parseDevice(v: string): { PathOnHost: string; PathInContainer: string; CgroupPermissions: string } {
  const parts = v.split(':');
  const validPerms = (p: string) => /^[rwm]{1,3}$/.test(p);
  let src = parts[0]!;
  let dst = src;
  let perms = 'rwm';
  if (parts.length === 3) {
    if (!validPerms(parts[2]!)) fail(`invalid device mode: ${parts[2]}`);
    [dst, perms] = [parts[1]!, parts[2]!];
  } else if (parts.length === 2) {
    if (validPerms(parts[1]!)) perms = parts[1]!;
    else dst = parts[1]!;
  } else if (parts.length !== 1) {
    fail(`invalid device specification: ${v}`);
  }
  if (!src.startsWith('/')) fail(`invalid device path: ${src}`);
  src = src.replace(/\/+$/, '') || '/';
  return { PathOnHost: src, PathInContainer: dst, CgroupPermissions: perms };
}

/** Capability names as docker sends them: upper case with CAP_, "ALL" as is. */
export function normalizeCaps(list: string[]): string[] | null {
  if (!list.length) return null;
  return list.map((c) => {
    const u = c.toUpperCase();
    return u === 'ALL' || u.startsWith('CAP_') ? u : `CAP_${u}`;
  });
}

export function parseSecurityOpts(list: string[]): string[] | null {
  if (!list.length) return null;
  return list.map((o) => {
    if (o === 'no-new-privileges') return o;
    const eq = o.search(/[=:]/);
    if (eq < 0) fail(`Invalid --security-opt: ${o}`);
    const key = o.slice(0, eq);
    const value = o.slice(eq + 1);
    if (key === 'seccomp' && value !== 'unconfined' && value !== 'builtin') {
      let text: string;
      try {
        text = readFileSync(value, 'utf8');
      } catch (e) {
        return fail(`opening seccomp profile (${value}) failed: ${(e as Error).message}`);
      }
      try {
        return `seccomp=${JSON.stringify(JSON.parse(text))}`;
      } catch {
        return fail(`compacting json for seccomp profile (${value}) failed: not JSON`);
      }
    }
    return `${key}=${value}`;
  });
}

type MountSpec = Record<string, unknown>;

/** --mount type=bind,source=/a,target=/b,readonly (docker's CSV mount syntax, the common keys). */
export function parseMount(v: string): MountSpec {
  const m: MountSpec = { Type: 'volume' };
  const bind: Record<string, unknown> = {};
  const vol: Record<string, unknown> = {};
  const tmpfs: Record<string, unknown> = {};
  const volLabels: Record<string, string> = {};
  const driverOpts: Record<string, string> = {};
  for (const field of v.split(',')) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    const value = eq < 0 ? undefined : field.slice(eq + 1);
    const boolValue = () => {
      if (value === undefined) return true;
      if (['true', '1'].includes(value.toLowerCase())) return true;
      if (['false', '0'].includes(value.toLowerCase())) return false;
      return fail(`invalid value for ${key}: ${value}`);
    };
    if (value === undefined && !['readonly', 'ro', 'volume-nocopy', 'bind-nonrecursive'].includes(key)) fail(`invalid field '${field}' must be a key=value pair`);
    switch (key) {
      case 'type':
        if (!['bind', 'volume', 'tmpfs', 'npipe', 'cluster', 'image'].includes(value!)) fail(`invalid mount type: ${value}`);
        m.Type = value;
        break;
      case 'source': case 'src':
        m.Source = value;
        break;
      case 'target': case 'dst': case 'destination':
        m.Target = value;
        break;
      case 'readonly': case 'ro':
        m.ReadOnly = boolValue();
        break;
      case 'consistency':
        m.Consistency = value;
        break;
      case 'bind-propagation':
        bind.Propagation = value;
        break;
      case 'bind-nonrecursive':
        bind.NonRecursive = boolValue();
        break;
      case 'volume-nocopy':
        vol.NoCopy = boolValue();
        break;
      case 'volume-label': {
        const [k, ...rest] = value!.split('=');
        volLabels[k!] = rest.join('=');
        break;
      }
      case 'volume-driver':
        vol.DriverConfig = { ...(vol.DriverConfig as object), Name: value };
        break;
      case 'volume-opt': {
        const [k, ...rest] = value!.split('=');
        driverOpts[k!] = rest.join('=');
        break;
      }
      case 'volume-subpath':
        vol.Subpath = value;
        break;
      case 'tmpfs-size':
        tmpfs.SizeBytes = ramInBytes(value!);
        break;
      case 'tmpfs-mode':
        if (!/^[0-7]+$/.test(value!)) fail(`invalid value for ${key}: ${value}`);
        tmpfs.Mode = parseInt(value!, 8);
        break;
      default:
        fail(`invalid field '${key}' in '${v}'`);
    }
  }
  if (!m.Target) fail('target is required');
  if (Object.keys(volLabels).length) vol.Labels = volLabels;
  if (Object.keys(driverOpts).length) vol.DriverConfig = { ...(vol.DriverConfig as object), Options: driverOpts };
  if (Object.keys(bind).length) {
    if (m.Type !== 'bind') fail(`cannot mix 'bind-*' options with mount type '${m.Type}'`);
    m.BindOptions = bind;
  }
  if (Object.keys(vol).length) {
    if (m.Type !== 'volume') fail(`cannot mix 'volume-*' options with mount type '${m.Type}'`);
    m.VolumeOptions = { DriverConfig: {}, ...vol }; // docker always fills in an empty DriverConfig
  }
  if (Object.keys(tmpfs).length) {
    if (m.Type !== 'tmpfs') fail(`cannot mix 'tmpfs-*' options with mount type '${m.Type}'`);
    m.TmpfsOptions = tmpfs;
  }
  return m;
}

/** A -v spec with a source (host path or volume name) is a bind; a bare path is an anonymous volume. */
