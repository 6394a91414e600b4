// Device access rules (linux.resources.devices). On v1 they are lines written to the devices
// controller's devices.deny / devices.allow files; v2 has no such files (see below).
import { invalid } from '../../common/errors.js';
import type { DeviceCgroupRule, Resources } from '../spec/types.js';
import { FIELD } from './convert.js';
import type { WriteOp } from './ops.js';

const num = (n: number | null | undefined): string => (n === undefined || n === null || n < 0 ? '*' : String(n));

/** The kernel's rule syntax, "c 1:3 rwm"; throws naming the rule when a part is malformed. */
export function deviceRuleLine(rule: DeviceCgroupRule, index: number): string {
  const field = `${FIELD}.devices[${index}]`;
  const type = rule.type ?? 'a';
  if (!['a', 'b', 'c'].includes(type)) throw invalid(`${field}.type: ${JSON.stringify(type)} is not "a", "b" or "c"`);
  const access = rule.access ?? 'rwm';
  if (access === '' || !/^[rwm]+$/.test(access) || new Set(access).size !== access.length) {
    throw invalid(`${field}.access: ${JSON.stringify(access)} is not a combination of r, w and m`);
  }
  for (const part of ['major', 'minor'] as const) {
    const v = rule[part];
    if (v !== undefined && v !== null && !(Number.isInteger(v) && v >= -1)) {
      throw invalid(`${field}.${part}: ${JSON.stringify(v)} is not a device number (or -1/null for any)`);
    }
  }
  return `${type} ${num(rule.major)}:${num(rule.minor)} ${access}`;
}

/**
 * The v1 writes for a rule list, as runc applies them: first "a" to devices.deny (no device
 * allowed), then each rule in order to devices.allow or devices.deny. The devices controller
 * applies them one at a time, so later rules override earlier ones exactly as in the spec.
 */
export function v1DeviceOps(rules: DeviceCgroupRule[]): WriteOp[] {
  const ops: WriteOp[] = [{ field: `${FIELD}.devices`, controller: 'devices', choices: [{ file: 'devices.deny', value: 'a' }] }];
  rules.forEach((rule, i) => {
    const file = rule.allow ? 'devices.allow' : 'devices.deny';
    ops.push({ field: `${FIELD}.devices[${i}]`, controller: 'devices', choices: [{ file, value: deviceRuleLine(rule, i) }] });
  });
  return ops;
}

const allowsEverything = (r: DeviceCgroupRule): boolean =>
  r.allow && (r.type ?? 'a') === 'a' && new Set(r.access ?? 'rwm').size === 3;

/**
 * Device rules are NOT enforced on cgroup v2 yet. v2 has no devices.allow/deny files: the kernel
 * checks device access with an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) attached to the cgroup
 * with bpf(2), which Node cannot call. The v2 manager therefore ignores linux.resources.devices
 * rather than pretend; the container can still only open device nodes that exist in its /dev.
 * This returns a message saying so when `resources` asks for a restriction (undefined when there
 * are no rules, or when the rules end up allowing everything), so the caller can decide whether
 * to warn or refuse.
 */
export function v2DeviceRulesUnsupported(resources: Resources | undefined): string | undefined {
  const rules = resources?.devices ?? [];
  if (rules.length === 0) return undefined;
  const lastAll = rules.map((r, i) => ({ r, i })).filter(({ r }) => (r.type ?? 'a') === 'a').pop();
  if (lastAll && allowsEverything(lastAll.r) && rules.slice(lastAll.i + 1).every((r) => r.allow)) return undefined;
  return (
    `${FIELD}.devices: ${rules.length} device rule(s) are not enforced on cgroup v2: that needs an eBPF ` +
    'device filter attached with bpf(2), which berth cannot load yet; the container can open any device node in its /dev'
  );
}
