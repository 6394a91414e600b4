// `--change` for import and commit: the Dockerfile instructions Docker allows there (CMD,
// ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR, STOPSIGNAL), applied to an
// image's container config. The builder will bring the full Dockerfile grammar; this is the
// one-line subset.
import { invalid } from '../common/errors.js';
import type { ContainerConfig } from './config.js';

/** Words of a shell-form argument, honouring double and single quotes and backslashes. */
function words(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let has = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < text.length) cur += text[++i];
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      has = true;
    } else if (ch === '\\' && i + 1 < text.length) cur += text[++i];
    else if (/\s/.test(ch)) {
      if (cur || has) out.push(cur);
      cur = '';
      has = false;
    } else cur += ch;
  }
  if (quote) throw invalid(`unterminated quote in "${text}"`);
  if (cur || has) out.push(cur);
  return out;
}

/** JSON (exec) form when the argument is a JSON array of strings, else undefined. */
function jsonForm(arg: string): string[] | undefined {
  if (!arg.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(arg) as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch {
    // not JSON: shell form, as Docker falls back
  }
  return undefined;
}

/** key=value pairs, or the legacy "KEY value" form with one pair. */
function pairs(arg: string, what: string): Array<[string, string]> {
  const w = words(arg);
  if (w.length === 0) throw invalid(`${what} needs an argument`);
  if (!w[0]!.includes('=')) return [[w[0]!, words(arg.slice(arg.indexOf(w[0]!) + w[0]!.length)).join(' ')]];
  return w.map((kv) => {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw invalid(`${what}: "${kv}" is not KEY=VALUE`);
    return [kv.slice(0, eq), kv.slice(eq + 1)];
  });
}

/** Applies each change line to a copy of `config`. */
export function applyChanges(config: ContainerConfig, changes: readonly string[]): ContainerConfig {
  const c: ContainerConfig = structuredClone(config);
  for (const line of changes) {
    const m = /^\s*(\w+)\s*(.*)$/s.exec(line);
    if (!m) continue;
    const instr = m[1]!.toUpperCase();
    const arg = m[2]!.trim();
    const cmd = () => jsonForm(arg) ?? ['/bin/sh', '-c', arg];
    switch (instr) {
      case 'CMD': c.Cmd = cmd(); break;
      case 'ENTRYPOINT': c.Entrypoint = arg ? cmd() : null; break;
      case 'USER': c.User = arg; break;
      case 'WORKDIR': c.WorkingDir = arg; break;
      case 'STOPSIGNAL': c.StopSignal = arg; break;
      case 'ONBUILD': c.OnBuild = [...(c.OnBuild ?? []), arg]; break;
      case 'ENV': {
        const env = [...(c.Env ?? [])];
        for (const [k, v] of pairs(arg, 'ENV')) {
          const i = env.findIndex((e) => e.split('=')[0] === k);
          if (i >= 0) env[i] = `${k}=${v}`;
          else env.push(`${k}=${v}`);
        }
        c.Env = env;
        break;
      }
      case 'LABEL':
        c.Labels = { ...(c.Labels ?? {}), ...Object.fromEntries(pairs(arg, 'LABEL')) };
        break;
      case 'EXPOSE':
        c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
        for (const p of words(arg)) {
          if (!/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/.test(p)) throw invalid(`EXPOSE: invalid port "${p}"`);
          c.ExposedPorts[p.includes('/') ? p : `${p}/tcp`] = {};
        }
        break;
      case 'VOLUME':
        c.Volumes = { ...(c.Volumes ?? {}) };
        for (const v of jsonForm(arg) ?? words(arg)) c.Volumes[v] = {};
        break;
      default:
        throw invalid(`${instr} is not a valid change command (use CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR or STOPSIGNAL)`);
    }
  }
  return c;
}
