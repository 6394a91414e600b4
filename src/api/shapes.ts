// The Engine API's request bodies as Docker's Go structs declare them (API 1.45: container.Config,
// container.HostConfig with its Resources, network.NetworkingConfig, container.UpdateConfig,
// types.ExecConfig, network.CreateRequest, volume.CreateOptions, registry.AuthConfig), for decode().
import { mapOf, sliceOf, struct, type Shape } from './decode.js';

const strings = sliceOf('string');
const stringMap = mapOf('string');
const empty = mapOf(struct('struct {}', {}));

export const HEALTH_CONFIG = struct('HealthConfig', {
  Test: strings, Interval: 'int', Timeout: 'int', StartPeriod: 'int', StartInterval: 'int', Retries: 'int',
});

const CONFIG_FIELDS = {
  Hostname: 'string', Domainname: 'string', User: 'string', AttachStdin: 'bool', AttachStdout: 'bool', AttachStderr: 'bool',
  ExposedPorts: empty, Tty: 'bool', OpenStdin: 'bool', StdinOnce: 'bool', Env: strings, Cmd: strings, Healthcheck: HEALTH_CONFIG,
  ArgsEscaped: 'bool', Image: 'string', Volumes: empty, WorkingDir: 'string', Entrypoint: strings, NetworkDisabled: 'bool',
  MacAddress: 'string', OnBuild: strings, Labels: stringMap, StopSignal: 'string', StopTimeout: 'int', Shell: strings,
} satisfies Record<string, Shape>;

/** container.Config: the body of POST /commit. */
export const CONTAINER_CONFIG = struct('Config', CONFIG_FIELDS);

const throttle = sliceOf(struct('ThrottleDevice', { Path: 'string', Rate: 'uint' }));

const RESTART_POLICY = struct('RestartPolicy', { Name: 'string', MaximumRetryCount: 'int' });

const RESOURCES = {
  CpuShares: 'int', Memory: 'int', NanoCpus: 'int', CgroupParent: 'string', BlkioWeight: 'uint',
  BlkioWeightDevice: sliceOf(struct('WeightDevice', { Path: 'string', Weight: 'uint' })),
  BlkioDeviceReadBps: throttle, BlkioDeviceWriteBps: throttle, BlkioDeviceReadIOps: throttle, BlkioDeviceWriteIOps: throttle,
  CpuPeriod: 'int', CpuQuota: 'int', CpuRealtimePeriod: 'int', CpuRealtimeRuntime: 'int', CpusetCpus: 'string', CpusetMems: 'string',
  Devices: sliceOf(struct('DeviceMapping', { PathOnHost: 'string', PathInContainer: 'string', CgroupPermissions: 'string' })),
  DeviceCgroupRules: strings,
  DeviceRequests: sliceOf(struct('DeviceRequest', { Driver: 'string', Count: 'int', DeviceIDs: strings, Capabilities: sliceOf(strings), Options: stringMap })),
  KernelMemory: 'int', KernelMemoryTCP: 'int', MemoryReservation: 'int', MemorySwap: 'int', MemorySwappiness: 'int',
  OomKillDisable: 'bool', PidsLimit: 'int', Ulimits: sliceOf(struct('Ulimit', { Name: 'string', Hard: 'int', Soft: 'int' })),
  CpuCount: 'int', CpuPercent: 'int', IOMaximumIOps: 'uint', IOMaximumBandwidth: 'uint',
} satisfies Record<string, Shape>;

const MOUNT = struct('Mount', {
  Type: 'string', Source: 'string', Target: 'string', ReadOnly: 'bool', Consistency: 'string',
  BindOptions: struct('BindOptions', { Propagation: 'string', NonRecursive: 'bool', CreateMountpoint: 'bool', ReadOnlyNonRecursive: 'bool', ReadOnlyForceRecursive: 'bool' }),
  VolumeOptions: struct('VolumeOptions', { NoCopy: 'bool', Labels: stringMap, Subpath: 'string', DriverConfig: struct('Driver', { Name: 'string', Options: stringMap }) }),
  TmpfsOptions: struct('TmpfsOptions', { SizeBytes: 'int', Mode: 'uint' }),
});

export const HOST_CONFIG = struct('HostConfig', {
  Binds: strings, ContainerIDFile: 'string', LogConfig: struct('LogConfig', { Type: 'string', Config: stringMap }), NetworkMode: 'string',
  PortBindings: mapOf(sliceOf(struct('PortBinding', { HostIp: 'string', HostPort: 'string' }))), RestartPolicy: RESTART_POLICY,
  AutoRemove: 'bool', VolumeDriver: 'string', VolumesFrom: strings, ConsoleSize: sliceOf('uint'), Annotations: stringMap,
  CapAdd: strings, CapDrop: strings, CgroupnsMode: 'string', Dns: strings, DnsOptions: strings, DnsSearch: strings, ExtraHosts: strings,
  GroupAdd: strings, IpcMode: 'string', Cgroup: 'string', Links: strings, OomScoreAdj: 'int', PidMode: 'string', Privileged: 'bool',
  PublishAllPorts: 'bool', ReadonlyRootfs: 'bool', SecurityOpt: strings, StorageOpt: stringMap, Tmpfs: stringMap, UTSMode: 'string',
  UsernsMode: 'string', ShmSize: 'int', Sysctls: stringMap, Runtime: 'string', Isolation: 'string', ...RESOURCES,
  Mounts: sliceOf(MOUNT), MaskedPaths: strings, ReadonlyPaths: strings, Init: 'bool',
});

export const ENDPOINT_SETTINGS = struct('EndpointSettings', {
  IPAMConfig: struct('EndpointIPAMConfig', { IPv4Address: 'string', IPv6Address: 'string', LinkLocalIPs: strings }),
  Links: strings, Aliases: strings, MacAddress: 'string', DriverOpts: stringMap, NetworkID: 'string', EndpointID: 'string', Gateway: 'string',
  IPAddress: 'string', IPPrefixLen: 'int', IPv6Gateway: 'string', GlobalIPv6Address: 'string', GlobalIPv6PrefixLen: 'int', DNSNames: strings,
});

/** The body of POST /containers/create: the Config, its HostConfig and NetworkingConfig. */
export const CREATE_BODY = struct('Config', {
  ...CONFIG_FIELDS,
  HostConfig: HOST_CONFIG,
  NetworkingConfig: struct('NetworkingConfig', { EndpointsConfig: mapOf(ENDPOINT_SETTINGS) }),
  Platform: 'string',
});

/** container.UpdateConfig: the resources and the restart policy. */
export const UPDATE_CONFIG = struct('UpdateConfig', { ...RESOURCES, RestartPolicy: RESTART_POLICY });

export const EXEC_CONFIG = struct('ExecConfig', {
  User: 'string', Privileged: 'bool', Tty: 'bool', ConsoleSize: sliceOf('uint'), AttachStdin: 'bool', AttachStderr: 'bool', AttachStdout: 'bool',
  Detach: 'bool', DetachKeys: 'string', Env: strings, WorkingDir: 'string', Cmd: strings,
});

export const EXEC_START = struct('ExecStartCheck', { Detach: 'bool', Tty: 'bool', ConsoleSize: sliceOf('uint') });

export const NETWORK_CREATE = struct('CreateRequest', {
  Name: 'string', CheckDuplicate: 'bool', Driver: 'string', Scope: 'string', EnableIPv6: 'bool', Internal: 'bool', Attachable: 'bool',
  Ingress: 'bool', ConfigOnly: 'bool', ConfigFrom: struct('ConfigReference', { Network: 'string' }), Options: stringMap, Labels: stringMap,
  IPAM: struct('IPAM', {
    Driver: 'string', Options: stringMap,
    Config: sliceOf(struct('IPAMConfig', { Subnet: 'string', IPRange: 'string', Gateway: 'string', AuxiliaryAddresses: stringMap })),
  }),
});

export const NETWORK_CONNECT = struct('ConnectOptions', { Container: 'string', EndpointConfig: ENDPOINT_SETTINGS });
export const NETWORK_DISCONNECT = struct('DisconnectOptions', { Container: 'string', Force: 'bool' });

export const VOLUME_CREATE = struct('CreateOptions', { Name: 'string', Driver: 'string', DriverOpts: stringMap, Labels: stringMap });

export const AUTH_CONFIG = struct('AuthConfig', {
  username: 'string', password: 'string', auth: 'string', email: 'string', serveraddress: 'string', identitytoken: 'string', registrytoken: 'string',
});
