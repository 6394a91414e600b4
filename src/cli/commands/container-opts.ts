// The flags of `run` and `create`, and their translation into the Engine API's create body
// (Config + HostConfig + NetworkingConfig) the way the docker CLI builds it (cli/command/container
// /opts.go): same fields, same defaults, same key order, so a daemon sees the same request.
import { resolve } from 'node:path';
import type { FlagDef, Flags } from '../flags.js';
import { parseGoDuration, ramInBytes } from '../output/units.js';
import { envValue, fail, kvMap, normalizeCaps, parseDevice, parseMount, parsePortRange, parsePortSpec, parseRestartPolicy, parseSecurityOpts, parseUlimit, publishToShort, readKVFile, sortKeys } from './container-parse.js';
export { kvMap, parseMount, parsePortSpec, parseRestartPolicy, readKVFile } from './container-parse.js';

export const containerFlags: FlagDef[] = [
  { name: 'add-host', type: 'list', help: 'Add a custom host-to-IP mapping (host:ip)' },
  { name: 'annotation', type: 'list', help: 'Add an annotation to the container (passed through to the OCI runtime)', valueName: 'map' },
  { name: 'attach', short: 'a', type: 'list', help: 'Attach to STDIN, STDOUT or STDERR' },
  { name: 'blkio-weight', type: 'int', help: 'Block IO (relative weight), between 10 and 1000, or 0 to disable', valueName: 'uint16' },
  { name: 'cap-add', type: 'list', help: 'Add Linux capabilities' },
  { name: 'cap-drop', type: 'list', help: 'Drop Linux capabilities' },
  { name: 'cgroup-parent', type: 'string', help: 'Optional parent cgroup for the container' },
  { name: 'cgroupns', type: 'string', help: 'Cgroup namespace to use (host|private)' },
  { name: 'cidfile', type: 'string', help: 'Write the container ID to the file' },
  { name: 'cpu-period', type: 'int', help: 'Limit CPU CFS (Completely Fair Scheduler) period' },
  { name: 'cpu-quota', type: 'int', help: 'Limit CPU CFS (Completely Fair Scheduler) quota' },
  { name: 'cpu-rt-period', type: 'int', help: 'Limit CPU real-time period in microseconds' },
  { name: 'cpu-rt-runtime', type: 'int', help: 'Limit CPU real-time runtime in microseconds' },
  { name: 'cpu-shares', short: 'c', type: 'int', help: 'CPU shares (relative weight)' },
  { name: 'cpus', type: 'float', help: 'Number of CPUs' },
  { name: 'cpuset-cpus', type: 'string', help: 'CPUs in which to allow execution (0-3, 0,1)' },
  { name: 'cpuset-mems', type: 'string', help: 'MEMs in which to allow execution (0-3, 0,1)' },
  { name: 'device', type: 'list', help: 'Add a host device to the container' },
  { name: 'device-cgroup-rule', type: 'list', help: 'Add a rule to the cgroup allowed devices list' },
  { name: 'dns', type: 'list', help: 'Set custom DNS servers' },
  { name: 'dns-option', type: 'list', help: 'Set DNS options' },
  { name: 'dns-search', type: 'list', help: 'Set custom DNS search domains' },
  { name: 'domainname', type: 'string', help: 'Container NIS domain name' },
  { name: 'entrypoint', type: 'string', help: 'Overwrite the default ENTRYPOINT of the image' },
  { name: 'env', short: 'e', type: 'list', help: 'Set environment variables' },
  { name: 'env-file', type: 'list', help: 'Read in a file of environment variables' },
  { name: 'expose', type: 'list', help: 'Expose a port or a range of ports' },
  { name: 'group-add', type: 'list', help: 'Add additional groups to join' },
  { name: 'health-cmd', type: 'string', help: 'Command to run to check health' },
  { name: 'health-interval', type: 'duration', help: 'Time between running the check (ms|s|m|h) (default 0s)' },
  { name: 'health-retries', type: 'int', help: 'Consecutive failures needed to report unhealthy' },
  { name: 'health-start-interval', type: 'duration', help: 'Time between running the check during the start period (ms|s|m|h) (default 0s)' },
  { name: 'health-start-period', type: 'duration', help: 'Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)' },
  { name: 'health-timeout', type: 'duration', help: 'Maximum time to allow one check to run (ms|s|m|h) (default 0s)' },
  { name: 'hostname', short: 'h', type: 'string', help: 'Container host name' },
  { name: 'init', type: 'bool', help: 'Run an init inside the container that forwards signals and reaps processes' },
  { name: 'interactive', short: 'i', type: 'bool', help: 'Keep STDIN open even if not attached' },
  { name: 'ip', type: 'string', help: 'IPv4 address (e.g., 172.30.100.104)' },
  { name: 'ip6', type: 'string', help: 'IPv6 address (e.g., 2001:db8::33)' },
  { name: 'ipc', type: 'string', help: 'IPC mode to use' },
  { name: 'isolation', type: 'string', help: 'Container isolation technology' },
  { name: 'label', short: 'l', type: 'list', help: 'Set meta data on a container' },
  { name: 'label-file', type: 'list', help: 'Read in a line delimited file of labels' },
  { name: 'link', type: 'list', help: 'Add link to another container' },
  { name: 'log-driver', type: 'string', help: 'Logging driver for the container' },
  { name: 'log-opt', type: 'list', help: 'Log driver options' },
  { name: 'mac-address', type: 'string', help: 'Container MAC address (e.g., 92:d0:c6:0a:29:33)' },
  { name: 'memory', short: 'm', type: 'string', help: 'Memory limit', valueName: 'bytes' },
  { name: 'memory-reservation', type: 'string', help: 'Memory soft limit', valueName: 'bytes' },
  { name: 'memory-swap', type: 'string', help: "Swap limit equal to memory plus swap: '-1' to enable unlimited swap", valueName: 'bytes' },
  { name: 'memory-swappiness', type: 'int', help: 'Tune container memory swappiness (0 to 100)', default: -1 },
  { name: 'mount', type: 'list', help: 'Attach a filesystem mount to the container', valueName: 'mount' },
  { name: 'name', type: 'string', help: 'Assign a name to the container' },
  { name: 'network', type: 'list', help: 'Connect a container to a network', valueName: 'network' },
  { name: 'net', type: 'list', help: 'Connect a container to a network', hidden: true },
  { name: 'network-alias', type: 'list', help: 'Add network-scoped alias for the container' },
  { name: 'no-healthcheck', type: 'bool', help: 'Disable any container-specified HEALTHCHECK' },
  { name: 'oom-kill-disable', type: 'bool', help: 'Disable OOM Killer' },
  { name: 'oom-score-adj', type: 'int', help: "Tune host's OOM preferences (-1000 to 1000)" },
  { name: 'pid', type: 'string', help: 'PID namespace to use' },
  { name: 'pids-limit', type: 'int', help: 'Tune container pids limit (set -1 for unlimited)' },
  { name: 'platform', type: 'string', help: 'Set platform if server is multi-platform capable' },
  { name: 'privileged', type: 'bool', help: 'Give extended privileges to this container' },
  { name: 'publish', short: 'p', type: 'list', help: "Publish a container's port(s) to the host" },
  { name: 'publish-all', short: 'P', type: 'bool', help: 'Publish all exposed ports to random ports' },
  { name: 'pull', type: 'string', help: 'Pull image before running ("always", "missing", "never")', default: 'missing' },
  { name: 'quiet', short: 'q', type: 'bool', help: 'Suppress the pull output' },
  { name: 'read-only', type: 'bool', help: "Mount the container's root filesystem as read only" },
  { name: 'restart', type: 'string', help: 'Restart policy to apply when a container exits', default: 'no' },
  { name: 'rm', type: 'bool', help: 'Automatically remove the container and its associated anonymous volumes when it exits' },
  { name: 'runtime', type: 'string', help: 'Runtime to use for this container' },
  { name: 'security-opt', type: 'list', help: 'Security Options' },
  { name: 'shm-size', type: 'string', help: 'Size of /dev/shm', valueName: 'bytes' },
  { name: 'stop-signal', type: 'string', help: 'Signal to stop the container' },
  { name: 'stop-timeout', type: 'int', help: 'Timeout (in seconds) to stop a container' },
  { name: 'storage-opt', type: 'list', help: 'Storage driver options for the container' },
  { name: 'sysctl', type: 'list', help: 'Sysctl options', valueName: 'map' },
  { name: 'tmpfs', type: 'list', help: 'Mount a tmpfs directory' },
  { name: 'tty', short: 't', type: 'bool', help: 'Allocate a pseudo-TTY' },
  { name: 'ulimit', type: 'list', help: 'Ulimit options', valueName: 'ulimit' },
  { name: 'user', short: 'u', type: 'string', help: 'Username or UID (format: <name|uid>[:<group|gid>])' },
  { name: 'userns', type: 'string', help: 'User namespace to use' },
  { name: 'uts', type: 'string', help: 'UTS namespace to use' },
  { name: 'volume', short: 'v', type: 'list', help: 'Bind mount a volume' },
  { name: 'volume-driver', type: 'string', help: 'Optional volume driver for the container' },
  { name: 'volumes-from', type: 'list', help: 'Mount volumes from the specified container(s)' },
  { name: 'workdir', short: 'w', type: 'string', help: 'Working directory inside the container' },
];

export const runOnlyFlags: FlagDef[] = [
  { name: 'detach', short: 'd', type: 'bool', help: 'Run container in background and print container ID' },
  { name: 'detach-keys', type: 'string', help: 'Override the key sequence for detaching a container' },
  { name: 'sig-proxy', type: 'bool', help: 'Proxy received signals to the process', default: true },
];

function volumeHasSource(spec: string): boolean {
  const parts = spec.split(':');
  return parts.length >= 2 && parts[0] !== '';
}

function nsDuration(f: Flags, name: string): number {
  const v = f.str(name);
  return v ? parseGoDuration(v) : 0;
}

/** A size flag (--memory, --shm-size…) in bytes, 0 when unset; --memory-swap takes -1. */
export function bytesFlag(f: Flags, name: string): number {
  const v = f.str(name);
  if (v === undefined || v === '') return 0;
  if (name === 'memory-swap' && v === '-1') return -1;
  try {
    return ramInBytes(v);
  } catch {
    const short = f.defs.find((d) => d.name === name)?.short;
    return fail(`invalid argument "${v}" for "${short ? `-${short}, ` : ''}--${name}" flag: invalid size: '${v}'`);
  }
}

const emptyEndpoint = (aliases: string[] | null, ipam: Record<string, string> | null, links: string[] | null) => ({
  IPAMConfig: ipam, Links: links, Aliases: aliases, MacAddress: '', DriverOpts: null, GwPriority: 0, NetworkID: '', EndpointID: '',
  Gateway: '', IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DNSNames: null,
});

export interface ContainerRequest {
  /** The create body (Config with HostConfig and NetworkingConfig inside). */
  body: Record<string, unknown>;
  name?: string;
  platform?: string;
  image: string;
}

/** The create request for `run`/`create` flags and arguments (IMAGE [COMMAND] [ARG...]). */
export function buildCreateRequest(f: Flags, args: string[], opts: { env: NodeJS.ProcessEnv; detach?: boolean; consoleSize?: [number, number]; isRun: boolean }): ContainerRequest {
  const [image, ...cmd] = args;
  if (!image) fail('requires at least 1 argument');

  // attach: -a picks streams; otherwise stdout and stderr, and stdin with -i
  const attach = f.list('attach').map((s) => s.toLowerCase());
  for (const a of attach) if (!['stdin', 'stdout', 'stderr'].includes(a)) fail(`valid streams are STDIN, STDOUT and STDERR`);
  let attachStdin = attach.includes('stdin') || f.bool('interactive');
  let attachStdout = attach.length === 0 || attach.includes('stdout');
  let attachStderr = attach.length === 0 || attach.includes('stderr');
  if (opts.detach) {
    if (attach.length) fail('Conflicting options: -a and -d');
    attachStdin = attachStdout = attachStderr = false;
  }

  // ports
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of f.list('publish')) {
    for (const m of parsePortSpec(publishToShort(p))) {
      exposed[m.port] = {};
      (bindings[m.port] ??= []).push({ HostIp: m.hostIp, HostPort: m.hostPort });
    }
  }
  for (const e of f.list('expose')) {
    const [range, proto = 'tcp'] = e.split('/');
    const r = parsePortRange(range!) ?? fail(`invalid range format for --expose: ${e}, error: invalid port`);
    for (let p = r[0]; p <= r[1]; p++) exposed[`${p}/${proto}`] = {};
  }

  // volumes: with a source -> Binds (relative ./ paths made absolute); bare -> anonymous
  const binds: string[] = [];
  const volumes: Record<string, object> = {};
  for (const v of f.list('volume')) {
    if (volumeHasSource(v)) {
      const colon = v.indexOf(':');
      let host = v.slice(0, colon);
      if (host.startsWith('.')) host = resolve(host);
      binds.push(`${host}${v.slice(colon)}`);
    } else {
      volumes[v] = {};
    }
  }

  // environment and labels: files first, then flags
  const envList = [...f.list('env-file').flatMap((p) => readKVFile(p, opts.env, 'env')), ...f.list('env').map((e) => envValue(e, opts.env))];
  const labelList = [...f.list('label-file').flatMap((p) => readKVFile(p, opts.env, 'label')), ...f.list('label')];

  // healthcheck
  let healthcheck: Record<string, unknown> | undefined;
  const healthFlags = ['health-cmd', 'health-interval', 'health-timeout', 'health-start-period', 'health-start-interval', 'health-retries'];
  if (f.bool('no-healthcheck')) {
    if (healthFlags.some((n) => f.has(n))) fail('--no-healthcheck conflicts with --health-* options');
    healthcheck = { Test: ['NONE'] };
  } else if (healthFlags.some((n) => f.has(n))) {
    healthcheck = {};
    if (f.str('health-cmd')) healthcheck.Test = ['CMD-SHELL', f.str('health-cmd')];
    for (const [flag, key] of [['health-interval', 'Interval'], ['health-timeout', 'Timeout'], ['health-start-period', 'StartPeriod'], ['health-start-interval', 'StartInterval']] as const) {
      const ns = nsDuration(f, flag);
      if (ns < 0) fail(`--${flag} cannot be negative`);
      if (ns) healthcheck[key] = ns;
    }
    const retries = f.int('health-retries') ?? 0;
    if (retries < 0) fail('--health-retries cannot be negative');
    if (retries) healthcheck.Retries = retries;
  }

  // entrypoint: --entrypoint= resets it to [""]
  let entrypoint: string[] | null = null;
  if (f.str('entrypoint')) entrypoint = [f.str('entrypoint')!];
  else if (f.has('entrypoint')) entrypoint = [''];

  const restart = parseRestartPolicy(f.str('restart') ?? 'no');
  if (f.bool('rm') && restart.Name !== '' && restart.Name !== 'no') fail('Conflicting options: --restart and --rm');

  const networks = [...f.list('network'), ...f.list('net')];
  const netMode = networks[0] ?? 'default';
  const tmpfs: Record<string, string> = {};
  for (const t of f.list('tmpfs')) {
    const colon = t.indexOf(':');
    tmpfs[colon < 0 ? t : t.slice(0, colon)] = colon < 0 ? '' : t.slice(colon + 1);
  }
  const mounts = f.list('mount').map(parseMount);
  const logOpts = kvMap(f.list('log-opt'));
  const sysctls = kvMap(f.list('sysctl'));
  const storageOpts = kvMap(f.list('storage-opt'));
  const annotations = kvMap(f.list('annotation'));

  const openStdin = f.bool('interactive');
  const config: Record<string, unknown> = {
    Hostname: f.str('hostname') ?? '',
    Domainname: f.str('domainname') ?? '',
    User: f.str('user') ?? '',
    AttachStdin: attachStdin,
    AttachStdout: attachStdout,
    AttachStderr: attachStderr,
    ...(Object.keys(exposed).length ? { ExposedPorts: sortKeys(exposed) } : {}),
    Tty: f.bool('tty'),
    OpenStdin: openStdin,
    StdinOnce: openStdin && attachStdin,
    Env: envList.length ? envList : null,
    Cmd: cmd.length ? cmd : null,
    ...(healthcheck ? { Healthcheck: healthcheck } : {}),
    Image: image,
    Volumes: volumes,
    WorkingDir: f.str('workdir') ?? '',
    Entrypoint: entrypoint,
    ...(f.str('mac-address') ? { MacAddress: f.str('mac-address') } : {}),
    OnBuild: null,
    Labels: kvMap(labelList),
    ...(f.str('stop-signal') ? { StopSignal: f.str('stop-signal') } : {}),
    ...(f.has('stop-timeout') ? { StopTimeout: f.int('stop-timeout') } : {}),
  };
  const cpus = f.values.get('cpus') as number | undefined;
  const hostConfig: Record<string, unknown> = {
    Binds: binds.length ? binds : null,
    ContainerIDFile: f.str('cidfile') ?? '',
    LogConfig: { Type: f.str('log-driver') ?? '', Config: logOpts },
    NetworkMode: netMode,
    PortBindings: bindings,
    RestartPolicy: restart,
    AutoRemove: f.bool('rm'),
    VolumeDriver: f.str('volume-driver') ?? '',
    VolumesFrom: f.list('volumes-from').length ? f.list('volumes-from') : null,
    ConsoleSize: opts.consoleSize ?? [0, 0],
    ...(Object.keys(annotations).length ? { Annotations: annotations } : {}),
    CapAdd: normalizeCaps(f.list('cap-add')),
    CapDrop: normalizeCaps(f.list('cap-drop')),
    CgroupnsMode: f.str('cgroupns') ?? '',
    Dns: f.list('dns'),
    DnsOptions: f.list('dns-option'),
    DnsSearch: f.list('dns-search'),
    ExtraHosts: f.list('add-host').length ? f.list('add-host').map((h) => h.replace('=', ':')) : null,
    GroupAdd: f.list('group-add').length ? f.list('group-add') : null,
    IpcMode: f.str('ipc') ?? '',
    Cgroup: '',
    Links: f.list('link').length ? f.list('link') : null,
    OomScoreAdj: f.int('oom-score-adj') ?? 0,
    PidMode: f.str('pid') ?? '',
    Privileged: f.bool('privileged'),
    PublishAllPorts: f.bool('publish-all'),
    ReadonlyRootfs: f.bool('read-only'),
    SecurityOpt: parseSecurityOpts(f.list('security-opt')),
    ...(Object.keys(storageOpts).length ? { StorageOpt: storageOpts } : {}),
    ...(Object.keys(tmpfs).length ? { Tmpfs: tmpfs } : {}),
    UTSMode: f.str('uts') ?? '',
    UsernsMode: f.str('userns') ?? '',
    ShmSize: bytesFlag(f, 'shm-size'),
    ...(Object.keys(sysctls).length ? { Sysctls: sysctls } : {}),
    ...(f.str('runtime') ? { Runtime: f.str('runtime') } : {}),
    Isolation: f.str('isolation') ?? '',
    CpuShares: f.int('cpu-shares') ?? 0,
    Memory: bytesFlag(f, 'memory'),
    NanoCpus: cpus ? Math.round(cpus * 1e9) : 0,
    CgroupParent: f.str('cgroup-parent') ?? '',
    BlkioWeight: f.int('blkio-weight') ?? 0,
    BlkioWeightDevice: [],
    BlkioDeviceReadBps: [],
    BlkioDeviceWriteBps: [],
    BlkioDeviceReadIOps: [],
    BlkioDeviceWriteIOps: [],
    CpuPeriod: f.int('cpu-period') ?? 0,
    CpuQuota: f.int('cpu-quota') ?? 0,
    CpuRealtimePeriod: f.int('cpu-rt-period') ?? 0,
    CpuRealtimeRuntime: f.int('cpu-rt-runtime') ?? 0,
    CpusetCpus: f.str('cpuset-cpus') ?? '',
    CpusetMems: f.str('cpuset-mems') ?? '',
    Devices: f.list('device').map(parseDevice),
    DeviceCgroupRules: f.list('device-cgroup-rule').length ? f.list('device-cgroup-rule') : null,
    DeviceRequests: null,
    MemoryReservation: bytesFlag(f, 'memory-reservation'),
    MemorySwap: bytesFlag(f, 'memory-swap'),
    MemorySwappiness: f.int('memory-swappiness') ?? -1,
    OomKillDisable: f.bool('oom-kill-disable'),
    PidsLimit: f.int('pids-limit') ?? 0,
    Ulimits: f.list('ulimit').map(parseUlimit),
    CpuCount: 0,
    CpuPercent: 0,
    IOMaximumIOps: 0,
    IOMaximumBandwidth: 0,
    ...(mounts.length ? { Mounts: mounts } : {}),
    MaskedPaths: null,
    ReadonlyPaths: null,
    ...(f.has('init') ? { Init: f.bool('init') } : {}),
  };

  // networking: an endpoint for the container's network (docker sends one for user networks and
  // "default"); aliases and addresses only on user-defined networks
  const endpoints: Record<string, unknown> = {};
  const aliases = f.list('network-alias');
  const ipam: Record<string, string> = {};
  if (f.str('ip')) ipam.IPv4Address = f.str('ip')!;
  if (f.str('ip6')) ipam.IPv6Address = f.str('ip6')!;
  const builtin = ['none', 'host', 'bridge', 'default'].includes(netMode) || netMode.startsWith('container:');
  if ((aliases.length || Object.keys(ipam).length) && builtin) {
    fail(aliases.length ? 'network-scoped aliases are only supported for user-defined networks' : 'user specified IP address is supported on user defined networks only');
  }
  if (netMode !== 'none' && netMode !== 'host' && !netMode.startsWith('container:')) {
    endpoints[netMode] = emptyEndpoint(aliases.length ? aliases : null, Object.keys(ipam).length ? ipam : null, null);
  }
  for (const extra of networks.slice(1)) endpoints[extra] = emptyEndpoint(null, null, null);

  return {
    body: { ...config, HostConfig: hostConfig, NetworkingConfig: { EndpointsConfig: endpoints } },
    ...(f.str('name') ? { name: f.str('name') } : {}),
    ...(f.str('platform') ? { platform: f.str('platform') } : {}),
    image,
  };
}
