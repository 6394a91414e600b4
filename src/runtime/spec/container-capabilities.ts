// A container's capability sets from what to add and drop and whether it is privileged, as
// Docker's caps.TweakCapabilities and oci.SetCapabilities compute them (containerd's CRI does the
// same for a pod's containers): shared by the engine and the CRI.
import { invalid } from '../../common/errors.js';
import { CAPABILITIES } from './capabilities.js';
import type { Capabilities } from './types.js';
import { DEFAULT_CAPABILITIES } from './container-defaults.js';

const ALL = 'ALL';

/**
 * Upper-cases names and adds the CAP_ prefix ("net_admin" -> "CAP_NET_ADMIN"); "ALL" stays as
 * is. An unknown capability is an error naming the field.
 */
export function normalizeCapabilities(names: readonly string[] | null | undefined, field: string): string[] {
  return (names ?? []).map((name, i) => {
    if (typeof name !== 'string') throw invalid(`${field}[${i}]: must be a capability name`);
    let cap = name.trim().toUpperCase();
    if (cap === ALL) return ALL;
    if (!cap.startsWith('CAP_')) cap = `CAP_${cap}`;
    if (!(CAPABILITIES as readonly string[]).includes(cap)) throw invalid(`${field}[${i}]: unknown capability: "${cap}"`);
    return cap;
  });
}

export interface CapabilityOptions {
  capAdd?: readonly string[] | null;
  capDrop?: readonly string[] | null;
  privileged?: boolean;
  /** What "all capabilities" means here: the host's bounding set. */
  hostCapabilities: readonly string[];
  /** The request's field names, for errors (default: Docker's HostConfig.CapAdd and CapDrop). */
  fields?: { add: string; drop: string };
}

/**
 * The container's capability list: all the host has when privileged; otherwise Docker's
 * defaults minus CapDrop plus CapAdd, where CapAdd ALL means every host capability but the
 * dropped ones and CapDrop ALL means exactly CapAdd.
 */
export function containerCapabilities(o: CapabilityOptions): string[] {
  if (o.privileged) return [...o.hostCapabilities];
  const drop = normalizeCapabilities(o.capDrop, o.fields?.drop ?? 'HostConfig.CapDrop');
  const add = normalizeCapabilities(o.capAdd, o.fields?.add ?? 'HostConfig.CapAdd');
  let caps: string[];
  if (add.includes(ALL)) caps = o.hostCapabilities.filter((c) => !drop.includes(c));
  else if (drop.includes(ALL)) caps = [...add];
  else caps = [...DEFAULT_CAPABILITIES.filter((c) => !drop.includes(c)), ...add];
  return [...new Set(caps)];
}

/**
 * The five sets for a process running as `uid`: root gets the list as bounding, effective and
 * permitted; another user only the bounding set, as execve(2) would leave it (Docker 20.10's
 * oci.SetCapabilities). Inheritable and ambient stay empty (CVE-2022-24769).
 */
export function capabilitySets(caps: readonly string[], uid: number): Capabilities {
  if (uid === 0) return { bounding: [...caps], effective: [...caps], permitted: [...caps] };
  return { bounding: [...caps] };
}
