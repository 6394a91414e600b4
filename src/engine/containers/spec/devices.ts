// Devices: HostConfig.Devices (--device /dev/x:/dev/y:rwm) turned into device nodes and cgroup
// rules from the host's device files, HostConfig.DeviceCgroupRules ("c 1:3 rwm"), and, for a
// privileged container, every device of the host with no cgroup restriction (moby's WithDevices,
// oci.DevicesFromPath, and runc's devices.HostDevices).
import { lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { invalid } from '../../../common/errors.js';
import type { Device, DeviceCgroupRule } from '../../../runtime/spec/types.js';
import type { DeviceMapping } from '../api-types.js';
import { defaultDeviceRules } from '../../../runtime/spec/container-defaults.js';
import { deviceFromPath, hostDevices } from '../../../runtime/spec/host-devices.js';

export interface DeviceResult {
  devices: Device[];
  rules: DeviceCgroupRule[];
}

const rule = (d: Device, access: string): DeviceCgroupRule => ({ allow: true, type: d.type, major: d.major, minor: d.minor, access });

/**
 * One --device mapping: a device node (through a symlink on the host), or a directory whose
 * device nodes are all mapped under PathInContainer.
 */
export function mappedDevices(m: DeviceMapping, field: string, access?: string): DeviceResult {
  if (typeof m?.PathOnHost !== 'string' || !posix.isAbsolute(m.PathOnHost)) throw invalid(`${field}.PathOnHost: must be an absolute path`);
  const inContainer = m.PathInContainer || m.PathOnHost;
  if (!posix.isAbsolute(inContainer)) throw invalid(`${field}.PathInContainer: must be an absolute path`);
  const perms = access ?? (m.CgroupPermissions || 'rwm');
  if (!/^[rwm]{1,3}$/.test(perms) || new Set(perms).size !== perms.length) throw invalid(`${field}.CgroupPermissions: "${perms}" is not a combination of r, w and m`);

  let host = m.PathOnHost;
  try {
    if (lstatSync(host).isSymbolicLink()) host = realpathSync(host);
  } catch {
    // missing: reported below
  }
  const one = deviceFromPath(host, inContainer);
  if (one) return { devices: [one], rules: [rule(one, perms)] };

  const out: DeviceResult = { devices: [], rules: [] };
  let isDir = false;
  try {
    isDir = statSync(host).isDirectory();
  } catch {
    throw invalid(`${field}: error gathering device information while adding custom device "${m.PathOnHost}": no such file or directory`);
  }
  if (isDir) {
    walk(host, (p) => {
      const d = deviceFromPath(p, posix.join(inContainer, posix.relative(host, p)));
      if (d) {
        out.devices.push(d);
        out.rules.push(rule(d, perms));
      }
    });
  }
  if (out.devices.length === 0) throw invalid(`${field}: error gathering device information while adding custom device "${m.PathOnHost}": not a device node`);
  return out;
}

function walk(dir: string, visit: (path: string) => void): void {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return;
  }
  for (const n of names) {
    const p = join(dir, n);
    let st;
    try {
      st = lstatSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) walk(p, visit);
    else visit(p);
  }
}

const RULE = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/;

/** "c 1:3 rwm", "a *:* rwm": an allow rule; '*' is any number. */
export function parseDeviceCgroupRule(text: string, field: string): DeviceCgroupRule {
  const m = RULE.exec(text);
  if (!m) throw invalid(`${field}: invalid device cgroup rule format: '${text}'`);
  return { allow: true, type: m[1], major: m[2] === '*' ? -1 : Number(m[2]), minor: m[3] === '*' ? -1 : Number(m[3]), access: m[4] };
}

export interface DeviceOptions {
  devices?: DeviceMapping[] | null;
  cgroupRules?: string[] | null;
  privileged: boolean;
  /** The host's device nodes, for a privileged container (default: a scan of /dev). */
  hostDevices?: () => Device[];
}

/** linux.devices and linux.resources.devices for the container. */
export function buildDevices(o: DeviceOptions): DeviceResult {
  const mappings = o.devices ?? [];
  if (o.privileged) {
    const devices = (o.hostDevices ?? hostDevices)();
    mappings.forEach((m, i) => {
      // /dev is the host's already; only a device mapped to another path adds a node.
      if ((m.PathInContainer || m.PathOnHost) === m.PathOnHost) return;
      devices.push(...mappedDevices(m, `HostConfig.Devices[${i}]`, 'rwm').devices);
    });
    return { devices, rules: [{ allow: true, access: 'rwm' }] };
  }
  const out: DeviceResult = { devices: [], rules: defaultDeviceRules() };
  mappings.forEach((m, i) => {
    const r = mappedDevices(m, `HostConfig.Devices[${i}]`);
    out.devices.push(...r.devices);
    out.rules.push(...r.rules);
  });
  (o.cgroupRules ?? []).forEach((text, i) => out.rules.push(parseDeviceCgroupRule(text, `HostConfig.DeviceCgroupRules[${i}]`)));
  return out;
}
