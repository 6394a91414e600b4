// Reading and checking a bundle's config.json. Every problem is one line that names the field,
// found before anything is created on the host.
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { invalid, errnoOf } from '../../common/errors.js';
import type { Hook, Namespace, NamespaceType, Spec } from './types.js';
import { capabilityMask } from './capabilities.js';
import { rlimitResource, rlimitValue } from './rlimits.js';

const NAMESPACE_TYPES: readonly NamespaceType[] = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time'];

export interface Bundle {
  dir: string;
  spec: Spec;
  rootfs: string;
}

export function loadBundle(dir: string): Bundle {
  const bundle = resolve(dir);
  const file = resolve(bundle, 'config.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw invalid(errnoOf(err) === 'ENOENT' ? `${file}: no such file: is ${bundle} an OCI bundle?` : `${file}: ${(err as Error).message}`);
  }
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch (err) {
    throw invalid(`config.json: invalid JSON: ${(err as Error).message}`);
  }
  validateSpec(spec);
  const rootfs = resolve(bundle, spec.root!.path);
  let isDir = false;
  try {
    isDir = statSync(rootfs).isDirectory();
  } catch {
    throw invalid(`root.path: rootfs ${rootfs} does not exist`);
  }
  if (!isDir) throw invalid(`root.path: rootfs ${rootfs} is not a directory`);
  return { dir: bundle, spec, rootfs };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkStrings(v: unknown, field: string): void {
  if (v !== undefined && (!Array.isArray(v) || v.some((s) => typeof s !== 'string'))) throw invalid(`${field}: must be an array of strings`);
}

export function validateSpec(spec: unknown): asserts spec is Spec {
  if (!isObject(spec)) throw invalid('config.json: must be a JSON object');
  if (typeof spec.ociVersion !== 'string' || !/^1\.\d+\.\d+/.test(spec.ociVersion)) throw invalid(`ociVersion: "${String(spec.ociVersion)}" is not a 1.x runtime-spec version`);
  if (!isObject(spec.root) || typeof spec.root.path !== 'string' || spec.root.path === '') throw invalid('root.path: is required');
  const s = spec as unknown as Spec;
  if (s.process !== undefined) validateProcess(s, 'process');
  validateNamespaces(s);
  (s.mounts ?? []).forEach((m, i) => {
    if (!isObject(m) || typeof m.destination !== 'string') throw invalid(`mounts[${i}].destination: is required`);
    if (!isAbsolute(m.destination)) throw invalid(`mounts[${i}].destination: "${m.destination}" must be an absolute path`);
    checkStrings(m.options, `mounts[${i}].options`);
  });
  for (const [point, hooks] of Object.entries(s.hooks ?? {}) as Array<[string, Hook[] | undefined]>) {
    (hooks ?? []).forEach((h, i) => {
      if (!isObject(h) || typeof h.path !== 'string' || !isAbsolute(h.path)) throw invalid(`hooks.${point}[${i}].path: must be an absolute path`);
      if (h.timeout !== undefined && (!Number.isInteger(h.timeout) || h.timeout <= 0)) throw invalid(`hooks.${point}[${i}].timeout: must be a positive integer`);
    });
  }
  const newNs = (t: NamespaceType) => (s.linux?.namespaces ?? []).some((n) => n.type === t && !n.path);
  const hasNs = (t: NamespaceType) => (s.linux?.namespaces ?? []).some((n) => n.type === t);
  if (s.hostname && !hasNs('uts')) throw invalid('hostname: cannot set a hostname without a private UTS namespace');
  if (s.domainname && !hasNs('uts')) throw invalid('domainname: cannot set a domainname without a private UTS namespace');
  if (newNs('user') && (!s.linux?.uidMappings?.length || !s.linux?.gidMappings?.length)) throw invalid('linux.uidMappings: a new user namespace needs uidMappings and gidMappings');
  for (const key of Object.keys(s.linux?.sysctl ?? {})) validateSysctl(key, hasNs);
  checkStrings(s.linux?.maskedPaths, 'linux.maskedPaths');
  checkStrings(s.linux?.readonlyPaths, 'linux.readonlyPaths');
  if (s.linux?.rootfsPropagation && !['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave', 'unbindable', 'runbindable'].includes(s.linux.rootfsPropagation)) {
    throw invalid(`linux.rootfsPropagation: unknown propagation "${s.linux.rootfsPropagation}"`);
  }
}

export function validateProcess(s: Spec, field: string): void {
  const p = s.process!;
  if (!isObject(p)) throw invalid(`${field}: must be an object`);
  if (!Array.isArray(p.args) || p.args.length === 0) throw invalid(`${field}.args: must name the program to run`);
  checkStrings(p.args, `${field}.args`);
  checkStrings(p.env, `${field}.env`);
  if (typeof p.cwd !== 'string' || !isAbsolute(p.cwd)) throw invalid(`${field}.cwd: must be an absolute path`);
  if (!isObject(p.user) || !Number.isInteger(p.user.uid) || !Number.isInteger(p.user.gid)) throw invalid(`${field}.user: uid and gid are required integers`);
  for (const set of ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const) {
    capabilityMask(p.capabilities?.[set], `${field}.capabilities.${set}`);
  }
  (p.rlimits ?? []).forEach((r, i) => {
    rlimitResource(r.type, `${field}.rlimits[${i}]`);
    if (!(rlimitValue(r.soft) <= rlimitValue(r.hard))) throw invalid(`${field}.rlimits[${i}]: soft limit ${r.soft} is above hard limit ${r.hard}`);
  });
}

function validateNamespaces(s: Spec): void {
  const seen = new Set<string>();
  (s.linux?.namespaces ?? []).forEach((ns: Namespace, i) => {
    if (!NAMESPACE_TYPES.includes(ns.type)) throw invalid(`linux.namespaces[${i}].type: unknown namespace "${String(ns.type)}"`);
    if (seen.has(ns.type)) throw invalid(`linux.namespaces[${i}]: duplicate namespace "${ns.type}"`);
    if (ns.path !== undefined && !isAbsolute(ns.path)) throw invalid(`linux.namespaces[${i}].path: must be an absolute path`);
    seen.add(ns.type);
  });
}

// A sysctl may only be set when it belongs to a namespace the container has to itself.
function validateSysctl(key: string, hasNs: (t: NamespaceType) => boolean): void {
  const need = (t: NamespaceType) => {
    if (!hasNs(t)) throw invalid(`linux.sysctl: sysctl "${key}" is not in a separate kernel namespace`);
  };
  if (/^kernel\.(msg|sem|shm)/.test(key) || key.startsWith('fs.mqueue.')) return need('ipc');
  if (key.startsWith('net.')) return need('network');
  if (key === 'kernel.hostname' || key === 'kernel.domainname') return need('uts');
  throw invalid(`linux.sysctl: sysctl "${key}" is not allowed as it is not namespaced`);
}
