// Where the daemon listens: `-H`/`--host`, else BERTH_HOST, else DOCKER_HOST, else berthd's
// default socket. Docker's forms: unix:///path, tcp://host[:port] (2375 by default), and a bare
// absolute path for a unix socket.
import { invalid } from '../common/errors.js';

export const DEFAULT_HOST = 'unix:///run/berth/berth.sock';

export type DaemonHost =
  | { kind: 'unix'; path: string; url: string; isDefault: boolean }
  | { kind: 'tcp'; host: string; port: number; url: string; isDefault: boolean };

export function parseHost(spec: string, isDefault = false): DaemonHost {
  const s = spec.trim();
  if (s.startsWith('/')) return { kind: 'unix', path: s, url: `unix://${s}`, isDefault };
  const m = /^([a-z]+):\/\/(.*)$/.exec(s);
  if (!m) throw invalid(`invalid daemon host "${spec}": use unix:///path/to/socket or tcp://host:port`);
  const [, scheme, rest] = m as unknown as [string, string, string];
  if (scheme === 'unix') {
    if (!rest) throw invalid(`invalid daemon host "${spec}": the unix socket path is empty`);
    return { kind: 'unix', path: rest, url: `unix://${rest}`, isDefault };
  }
  if (scheme === 'tcp' || scheme === 'http') {
    const hostPort = rest.replace(/\/+$/, '');
    const hm = /^(\[[^\]]+\]|[^:]*)(?::(\d+))?$/.exec(hostPort);
    if (!hm) throw invalid(`invalid daemon host "${spec}": expected tcp://host:port`);
    const host = (hm[1] || '127.0.0.1').replace(/^\[|\]$/g, '');
    const port = hm[2] ? Number(hm[2]) : 2375;
    if (port < 1 || port > 65535) throw invalid(`invalid daemon host "${spec}": port ${port} is out of range`);
    return { kind: 'tcp', host, port, url: `tcp://${hm[1] || '127.0.0.1'}:${port}`, isDefault };
  }
  throw invalid(`invalid daemon host "${spec}": unsupported scheme ${scheme}:// (use unix:// or tcp://)`);
}

/** The host the CLI talks to, by Docker's precedence with BERTH_HOST ahead of DOCKER_HOST. */
export function resolveHost(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): DaemonHost {
  if (flag) return parseHost(flag);
  if (env.BERTH_HOST) return parseHost(env.BERTH_HOST);
  if (env.DOCKER_HOST) return parseHost(env.DOCKER_HOST);
  return parseHost(DEFAULT_HOST, true);
}
