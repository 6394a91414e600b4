// How each metadata instruction changes the image's container config, and the history line the
// classic builder records for it ("/bin/sh -c #(nop)  ENV A=1"). Pure: the builder applies the
// result and commits it.
import type { ContainerConfig } from '../image/config.js';
import { exposedPorts, resolveWorkdir, type CommandLine, type HealthConfig, type StageInstruction } from './dockerfile/index.js';

export const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** RUN/CMD/ENTRYPOINT's argv: the exec form as written, the shell form through SHELL. */
export function commandArgs(cmd: CommandLine, shell: readonly string[]): string[] {
  return cmd.prependShell ? [...shell, ...cmd.args] : [...cmd.args];
}

/** What Docker writes for a step that only changes the config. */
export function nopCreatedBy(shell: readonly string[], text: string): string {
  return `${shell.join(' ')} #(nop) ${text}`;
}

function healthcheck(h: HealthConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { Test: h.test };
  if (h.interval) out.Interval = h.interval;
  if (h.timeout) out.Timeout = h.timeout;
  if (h.startPeriod) out.StartPeriod = h.startPeriod;
  if (h.startInterval) out.StartInterval = h.startInterval;
  if (h.retries) out.Retries = h.retries;
  return out;
}

/** The state a stage carries from step to step besides its image. */
export interface StageState {
  config: ContainerConfig;
  /** Whether this stage set CMD itself (an ENTRYPOINT then keeps it; an inherited one is reset). */
  cmdSet: boolean;
  author?: string;
}

/**
 * Applies an expanded metadata instruction to `s.config`; returns the history text after
 * "#(nop) " (Docker's), or undefined for the instructions that are not metadata-only.
 */
export function applyMetadata(s: StageState, instr: StageInstruction): string | undefined {
  const c = s.config;
  const shell = c.Shell?.length ? c.Shell : DEFAULT_SHELL;
  switch (instr.kind) {
    case 'ENV':
      // the Env itself is kept by the stage's variables; the builder copies it in before this
      return ` ENV ${instr.pairs.map((p) => `${p.key}=${p.value}`).join(' ')}`;
    case 'ARG':
      return ` ARG ${instr.args.map((a) => (a.value === undefined ? a.key : `${a.key}=${a.value}`)).join(' ')}`;
    case 'LABEL':
      c.Labels = { ...(c.Labels ?? {}) };
      for (const p of instr.pairs) c.Labels[p.key] = p.value;
      return ` LABEL ${instr.pairs.map((p) => `${p.key}=${p.value}`).join(' ')}`;
    case 'EXPOSE': {
      const ports = exposedPorts(instr.ports);
      c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
      for (const p of ports) c.ExposedPorts[p] = {};
      return ` EXPOSE ${ports.join(' ')}`;
    }
    case 'VOLUME':
      c.Volumes = { ...(c.Volumes ?? {}) };
      for (const p of instr.paths) c.Volumes[p] = {};
      return ` VOLUME [${instr.paths.join(' ')}]`;
    case 'USER':
      c.User = instr.user;
      return ` USER ${instr.user}`;
    case 'CMD':
      c.Cmd = commandArgs(instr.cmd, shell);
      s.cmdSet = true;
      return ` CMD ${JSON.stringify(c.Cmd)}`;
    case 'ENTRYPOINT':
      c.Entrypoint = instr.cmd.args.length ? commandArgs(instr.cmd, shell) : null;
      if (!s.cmdSet) c.Cmd = null;
      return ` ENTRYPOINT ${JSON.stringify(c.Entrypoint ?? [])}`;
    case 'SHELL':
      c.Shell = [...instr.shell];
      return ` SHELL ${JSON.stringify(instr.shell)}`;
    case 'HEALTHCHECK':
      c.Healthcheck = healthcheck(instr.health);
      return ` HEALTHCHECK &{${JSON.stringify(instr.health.test)} ...}`;
    case 'STOPSIGNAL':
      c.StopSignal = instr.signal;
      return ` STOPSIGNAL ${instr.signal}`;
    case 'ONBUILD':
      c.OnBuild = [...(c.OnBuild ?? []), instr.expression];
      return ` ONBUILD ${instr.expression}`;
    case 'MAINTAINER':
      s.author = instr.maintainer;
      return ` MAINTAINER ${instr.maintainer}`;
    default:
      return undefined;
  }
}

/** WORKDIR's new directory; the builder also makes it in the image. */
export function applyWorkdir(s: StageState, path: string): string {
  s.config.WorkingDir = resolveWorkdir(s.config.WorkingDir || '/', path);
  return s.config.WorkingDir;
}
