// The Engine API shapes the CLI reads and writes (the fields it uses; the daemon may send more).

export interface Port {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

export interface MountPoint {
  Type?: string;
  Name?: string;
  Source?: string;
  Destination: string;
  Driver?: string;
  Mode?: string;
  RW?: boolean;
  Propagation?: string;
}

export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Command: string;
  Created: number;
  Ports: Port[];
  SizeRw?: number;
  SizeRootFs?: number;
  Labels: Record<string, string> | null;
  State: string;
  Status: string;
  HostConfig?: { NetworkMode?: string };
  NetworkSettings?: { Networks?: Record<string, unknown> | null };
  Mounts: MountPoint[];
}

export interface PortBinding {
  HostIp?: string;
  HostPort?: string;
}

export interface ContainerInspect {
  Id: string;
  Created: string;
  Path: string;
  Args: string[];
  State: {
    Status: string;
    Running: boolean;
    Paused: boolean;
    Restarting: boolean;
    OOMKilled?: boolean;
    Dead?: boolean;
    Pid: number;
    ExitCode: number;
    Error?: string;
    StartedAt?: string;
    FinishedAt?: string;
  };
  Image: string;
  Name: string;
  RestartCount?: number;
  HostConfig: { AutoRemove?: boolean; NetworkMode?: string; [k: string]: unknown };
  Config: {
    Tty: boolean;
    OpenStdin: boolean;
    AttachStdin?: boolean;
    StdinOnce?: boolean;
    Image: string;
    Labels?: Record<string, string> | null;
    [k: string]: unknown;
  };
  NetworkSettings: { Ports?: Record<string, PortBinding[] | null> | null; [k: string]: unknown };
  [k: string]: unknown;
}

export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[] | null;
  RepoDigests: string[] | null;
  Created: number;
  Size: number;
  VirtualSize?: number;
  SharedSize: number;
  Labels: Record<string, string> | null;
  Containers: number;
}

export interface HistoryItem {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

export interface ProgressDetail {
  current?: number;
  total?: number;
}

/** One message of a pull/push/load/import/build stream (Docker's jsonmessage). */
export interface JSONMessage {
  stream?: string;
  status?: string;
  progress?: string;
  progressDetail?: ProgressDetail;
  id?: string;
  from?: string;
  time?: number;
  timeNano?: number;
  error?: string;
  errorDetail?: { code?: number; message?: string };
  aux?: unknown;
}

export interface EventMessage {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  scope?: string;
  time?: number;
  /** A string when read with jsonStream's exactIntegers (nanoseconds do not fit a double). */
  timeNano?: number | string;
  status?: string;
  id?: string;
  from?: string;
}

export interface Volume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt?: string;
  Labels: Record<string, string> | null;
  Scope: string;
  Options: Record<string, string> | null;
  UsageData?: { Size: number; RefCount: number } | null;
}

export interface Network {
  Name: string;
  Id: string;
  Created?: string;
  Scope: string;
  Driver: string;
  EnableIPv6?: boolean;
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  IPAM?: unknown;
  Labels?: Record<string, string> | null;
  Containers?: Record<string, unknown>;
  Options?: Record<string, string> | null;
}

export interface StatsResponse {
  read: string;
  preread?: string;
  id?: string;
  name?: string;
  pids_stats?: { current?: number; limit?: number };
  cpu_stats: CpuStats;
  precpu_stats: CpuStats;
  memory_stats: { usage?: number; limit?: number; stats?: Record<string, number>; max_usage?: number };
  blkio_stats?: { io_service_bytes_recursive?: { major: number; minor: number; op: string; value: number }[] | null };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number }>;
}

export interface CpuStats {
  cpu_usage: { total_usage: number; percpu_usage?: number[] | null };
  system_cpu_usage?: number;
  online_cpus?: number;
}

export interface ExecInspect {
  ID: string;
  Running: boolean;
  ExitCode: number | null;
  Pid?: number;
  ContainerID?: string;
  ProcessConfig?: { tty?: boolean };
}

/** What GET/HEAD /containers/{id}/archive says about a path (X-Docker-Container-Path-Stat). */
export interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

/** Go's os.FileMode bits as Docker sends them in PathStat.mode. */
export const GO_MODE_DIR = 0x80000000;
export const GO_MODE_SYMLINK = 0x08000000;
