// HostConfig.SecurityOpt, read as Docker's parseSecurityOpt reads it: "no-new-privileges[=bool]",
// "seccomp=unconfined|builtin|<profile JSON>", "writable-cgroups[=bool]", and the AppArmor and
// SELinux options ("apparmor=…", "label=…", "disable"), which are accepted and ignored here: this
// host has neither. Anything else is an error.
import { invalid } from '../../../common/errors.js';

export interface SecurityOptions {
  noNewPrivileges: boolean;
  /** undefined: the default profile; "unconfined"; "builtin" (the default, explicitly); or a profile's JSON. */
  seccomp?: string;
  /** undefined: as Docker decides (writable when privileged). */
  writableCgroups?: boolean;
  apparmor?: string;
  labels: string[];
}

function parseBool(v: string): boolean | undefined {
  // Go's strconv.ParseBool.
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
  return undefined;
}

export function parseSecurityOpts(opts: readonly string[] | null | undefined): SecurityOptions {
  const out: SecurityOptions = { noNewPrivileges: false, labels: [] };
  (opts ?? []).forEach((opt, i) => {
    const field = `HostConfig.SecurityOpt[${i}]`;
    if (typeof opt !== 'string') throw invalid(`${field}: must be a string`);
    if (opt === 'no-new-privileges') {
      out.noNewPrivileges = true;
      return;
    }
    if (opt === 'writable-cgroups') {
      out.writableCgroups = true;
      return;
    }
    if (opt === 'disable') {
      out.labels.push('disable');
      return;
    }
    // "key=value"; the old "key:value" form is still read, as Docker does.
    const sep = opt.includes('=') ? '=' : opt.includes(':') ? ':' : undefined;
    if (!sep) throw invalid(`${field}: invalid --security-opt 1: "${opt}": expected key=value`);
    const key = opt.slice(0, opt.indexOf(sep));
    const value = opt.slice(opt.indexOf(sep) + 1);
    const bool = (): boolean => {
      const b = parseBool(value);
      if (b === undefined) throw invalid(`${field}: invalid --security-opt 2: "${opt}": ${key} takes true or false`);
      return b;
    };
    switch (key) {
      case 'label':
        out.labels.push(value);
        return;
      case 'apparmor':
        out.apparmor = value;
        return;
      case 'seccomp':
        out.seccomp = value;
        return;
      case 'no-new-privileges':
        out.noNewPrivileges = bool();
        return;
      case 'writable-cgroups':
        out.writableCgroups = bool();
        return;
      default:
        throw invalid(`${field}: invalid --security-opt 2: "${opt}": unknown option "${key}" (apparmor, label, seccomp, no-new-privileges or writable-cgroups)`);
    }
  });
  return out;
}
