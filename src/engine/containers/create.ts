// A container's configuration from a create request and its image, merged the way Docker merges
// them (moby's daemon/commit.go merge): the request wins, the image fills in; then the command
// (Path, Args) and the checks Docker makes before anything is written.
import { invalid } from '../../common/errors.js';
import { checkRestartPolicy } from './restart-policy.js';
import type { ImageConfig } from '../../image/config.js';
import type { ContainerConfig, CreateBody, HealthConfig, HostConfig } from './api-types.js';

export function mergeImageConfig(user: ContainerConfig, image: ImageConfig['config'] = {}): ContainerConfig {
  const c: ContainerConfig = { ...user };
  if (!c.User) c.User = image.User ?? '';
  if (image.ExposedPorts || c.ExposedPorts) c.ExposedPorts = { ...(image.ExposedPorts ?? {}), ...(c.ExposedPorts ?? {}) };
  if (!c.Env?.length) c.Env = image.Env ?? [];
  else {
    const keys = new Set(c.Env.map((e) => e.split('=')[0]));
    c.Env = [...c.Env, ...(image.Env ?? []).filter((e) => !keys.has(e.split('=')[0]))];
  }
  if (image.Labels || c.Labels) c.Labels = { ...(image.Labels ?? {}), ...(c.Labels ?? {}) };
  // An empty (not absent) user entrypoint means "none": the image's is not taken then.
  if (!c.Entrypoint?.length) {
    if (!c.Cmd?.length) c.Cmd = image.Cmd ?? null;
    if (c.Entrypoint === undefined || c.Entrypoint === null) c.Entrypoint = image.Entrypoint ?? null;
  }
  // `--entrypoint ""` comes as [""]: it has kept the image's entrypoint and cmd out, and stands for none.
  if (c.Entrypoint?.length === 1 && c.Entrypoint[0] === '') c.Entrypoint = null;
  c.Healthcheck = mergeHealth(c.Healthcheck ?? undefined, image.Healthcheck as HealthConfig | undefined);
  if (!c.WorkingDir) c.WorkingDir = image.WorkingDir ?? '';
  if (image.Volumes || c.Volumes) c.Volumes = { ...(image.Volumes ?? {}), ...(c.Volumes ?? {}) };
  if (!c.StopSignal && image.StopSignal) c.StopSignal = image.StopSignal;
  if (!c.OnBuild?.length) c.OnBuild = image.OnBuild ?? null;
  if (!c.Shell?.length && image.Shell) c.Shell = image.Shell;
  return c;
}

function mergeHealth(user: HealthConfig | undefined, image: HealthConfig | undefined): HealthConfig | null {
  if (!user) return image ?? null;
  if (!image) return user;
  return {
    Test: user.Test?.length ? user.Test : image.Test,
    Interval: user.Interval || image.Interval,
    Timeout: user.Timeout || image.Timeout,
    Retries: user.Retries || image.Retries,
    StartPeriod: user.StartPeriod || image.StartPeriod,
    StartInterval: user.StartInterval || image.StartInterval,
  };
}

/** Path and Args: the entrypoint followed by the command; a container needs one. */
export function commandOf(c: ContainerConfig): { path: string; args: string[] } {
  const argv = [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])];
  if (argv.length === 0) throw invalid('No command specified');
  return { path: argv[0]!, args: argv.slice(1) };
}

/** The body's shape and the HostConfig combinations Docker refuses before creating anything. */
export function checkCreateBody(body: unknown): CreateBody {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalid('invalid JSON: the body must be a JSON object');
  const b = body as CreateBody;
  const strings = (v: unknown, field: string) => {
    if (v !== undefined && v !== null && !(Array.isArray(v) && v.every((x) => typeof x === 'string'))) throw invalid(`json: cannot unmarshal ${typeof v} into Go struct field ${field} of type []string`);
  };
  if (typeof b.Image !== 'string' || !b.Image) throw invalid('No image specified: the body needs "Image"');
  strings(b.Cmd, 'Config.Cmd');
  strings(b.Entrypoint, 'Config.Entrypoint');
  strings(b.Env, 'Config.Env');
  if (b.HostConfig !== undefined && (b.HostConfig === null || typeof b.HostConfig !== 'object')) throw invalid('HostConfig must be an object');
  const h: HostConfig = b.HostConfig ?? {};
  strings(h.Binds, 'HostConfig.Binds');
  strings(h.CapAdd, 'HostConfig.CapAdd');
  strings(h.CapDrop, 'HostConfig.CapDrop');
  const policy = h.RestartPolicy?.Name ?? '';
  checkRestartPolicy(h.RestartPolicy);
  if (h.AutoRemove && policy && policy !== 'no') throw invalid('can\'t create \'AutoRemove\' container with restart policy');
  for (const [field, v] of [['Memory', h.Memory], ['NanoCpus', h.NanoCpus], ['ShmSize', h.ShmSize]] as const) {
    if (v !== undefined && (typeof v !== 'number' || v < 0 || !Number.isFinite(v))) throw invalid(`invalid ${field}: ${String(v)}`);
  }
  if (h.Memory && h.Memory < 6 * 1024 * 1024) throw invalid('Minimum memory limit allowed is 6MB');
  if (b.Tty !== undefined && typeof b.Tty !== 'boolean') throw invalid('json: cannot unmarshal into Go struct field Config.Tty of type bool');
  return b;
}

/** json-file's max-size ("10m", "1g", bytes) and max-file options. */
export function logOptions(h: HostConfig): { maxSize?: number; maxFiles?: number } {
  const cfg = h.LogConfig?.Config ?? {};
  const type = h.LogConfig?.Type || 'json-file';
  if (type !== 'json-file' && type !== 'none') throw invalid(`logging driver "${type}" is not supported (json-file, none)`);
  const out: { maxSize?: number; maxFiles?: number } = {};
  if (cfg['max-size']) {
    const m = /^(\d+)([kmg]?)b?$/i.exec(cfg['max-size']);
    if (!m) throw invalid(`invalid max-size "${cfg['max-size']}"`);
    out.maxSize = Number(m[1]) * ({ '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 } as Record<string, number>)[m[2]!.toLowerCase()]!;
  }
  if (cfg['max-file']) {
    const n = Number(cfg['max-file']);
    if (!Number.isInteger(n) || n < 1) throw invalid(`invalid max-file "${cfg['max-file']}"`);
    out.maxFiles = n;
  }
  return out;
}
