// What the engine keeps of each container: Docker's own fields (as inspect shows them) plus the
// engine's bookkeeping (its snapshot, whether a user stopped it, for unless-stopped).
import type { MountPoint } from '../../volume/types.js';
import type { ContainerConfig, ContainerState, EndpointSettings, HostConfig } from './api-types.js';

export interface ContainerRecord {
  ID: string;
  /** With Docker's leading slash: "/web". */
  Name: string;
  Created: string;
  Path: string;
  Args: string[];
  Config: ContainerConfig;
  HostConfig: HostConfig;
  /** The image ID (config digest). */
  Image: string;
  State: ContainerState;
  RestartCount: number;
  Platform: string;
  Driver: string;
  LogPath: string;
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
  Networks: Record<string, EndpointSettings>;
  /** The writable snapshot's key. */
  SnapshotKey: string;
  /** The image's top chain ID, the snapshot's parent. */
  ImageChainId?: string;
  /** A user stopped it (docker stop/kill): unless-stopped does not restart it at daemon start. */
  ManuallyStopped: boolean;
  HasBeenStarted: boolean;
  /** Published ports, as NetworkSettings.Ports shows them. */
  Ports?: Record<string, Array<{ HostIp: string; HostPort: string }> | null>;
  /** Volumes, binds and tmpfs mounts, resolved at create (src/volume). */
  MountPoints: MountPoint[];
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

export function initialState(): ContainerState {
  return { Status: 'created', Running: false, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 0, ExitCode: 0, Error: '', StartedAt: ZERO_TIME, FinishedAt: ZERO_TIME };
}

/** Docker's "Up 3 minutes" / "Exited (0) 2 seconds ago" text for `ps`. */
export function statusText(r: ContainerRecord, now = Date.now()): string {
  const s = r.State;
  const since = (iso: string) => humanDuration(now - new Date(iso).getTime());
  if (s.Status === 'created') return 'Created';
  if (s.Status === 'restarting') return `Restarting (${s.ExitCode}) ${since(s.FinishedAt)} ago`;
  if (s.Status === 'removing') return 'Removal In Progress';
  if (s.Status === 'dead') return 'Dead';
  if (s.Running) {
    const health = s.Health && s.Health.Status !== 'none' ? ` (${s.Health.Status === 'starting' ? 'health: starting' : s.Health.Status})` : '';
    return `Up ${since(s.StartedAt)}${s.Paused ? ' (Paused)' : ''}${health}`;
  }
  return `Exited (${s.ExitCode}) ${since(s.FinishedAt)} ago`;
}

/** go-units' HumanDuration, as Docker prints ages. */
export function humanDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(minutes / 60);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}
