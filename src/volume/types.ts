// The shapes the volume layer shares with its callers: Docker's volume JSON, the container's
// mount points as the engine keeps them (Docker's MountPoint), the request fields they come from
// (structurally the engine's HostConfig and MountSpec, which this layer may not import), and OCI
// mounts ready for the spec.

/** A volume as the Engine API shows it (GET /volumes/{name}, /volumes, POST /volumes/create). */
export interface Volume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string> | null;
  Scope: 'local';
  Options: Record<string, string> | null;
  /** Only when asked for (system df, `volume ls --format {{.Size}}`): size in bytes and containers using it. */
  UsageData?: { Size: number; RefCount: number };
}

/** The body of POST /volumes/create. */
export interface CreateVolumeRequest {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

/** Docker's list filters: {"label": ["a=b"], "dangling": ["true"]}. */
export type VolumeFilters = Record<string, readonly string[]>;

export type VolumeEventAction = 'create' | 'destroy' | 'mount' | 'unmount' | 'prune';

/**
 * Called for each volume event, for the engine to publish as a Docker event of type "volume"
 * (Actor.ID = `name`; '' for prune). create/destroy carry {driver}; mount carries {driver,
 * container, destination, read/write, propagation}; unmount {driver, container}; prune {reclaimed}.
 */
export type VolumeEventHook = (action: VolumeEventAction, name: string, attributes: Record<string, string>) => void;

/** `HostConfig.Mounts[i]` (`--mount`), as the API brings it. */
export interface MountSpecInput {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean; CreateMountpoint?: boolean } | null;
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string> | null; DriverConfig?: { Name?: string; Options?: Record<string, string> | null } | null; Subpath?: string } | null;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number } | null;
}

/** The HostConfig fields mounts come from (the engine passes its HostConfig as is). */
export interface VolumeHostConfig {
  Binds?: readonly string[] | null;
  Mounts?: readonly MountSpecInput[] | null;
  VolumesFrom?: readonly string[] | null;
  /** `--tmpfs`: mounted by the spec builder; here only to refuse a second mount on the same path. */
  Tmpfs?: Record<string, string> | null;
  VolumeDriver?: string;
}

/**
 * One mount of a container, decided at create and kept in the container's record (Docker's
 * MountPoint): what `prepareMounts` turns into an OCI mount at each start, what inspect shows
 * (see `inspectMounts`), and what `--volumes-from` copies.
 */
export interface MountPoint {
  Type: 'bind' | 'volume' | 'tmpfs';
  /** The volume's name (type volume), else ''. */
  Name: string;
  /** The host path: the bind source, or the volume's mountpoint; '' for tmpfs. */
  Source: string;
  /** The path in the container, cleaned, as the user gave it (symlinks are resolved at start). */
  Destination: string;
  /** The volume driver ("local"), else ''. */
  Driver: string;
  /** The mode as inspect shows it: the -v suffix ("ro", "ro,z"), "z" for a volume, "" otherwise. */
  Mode: string;
  RW: boolean;
  /** "rprivate" by default for binds (rslave for a source in the daemon's root), "" for volumes. */
  Propagation: string;
  /** Copy the image's content at Destination into the volume when the volume is empty. */
  CopyData: boolean;
  /** A volume without a name given (-v /dst, --mount without source, the image's VOLUME): `rm -v` removes it. */
  Anonymous: boolean;
  /** --mount type=bind,bind-nonrecursive: "bind" instead of "rbind". */
  NonRecursive?: boolean;
  /** Bind: create the host directory at start when it is missing (the -v form, or CreateMountpoint). */
  CreateSource?: boolean;
  /** Type tmpfs: the OCI options (Docker's defaults merged with size/mode/ro). */
  TmpfsOptions?: string[];
}

/** A mount in OCI runtime-spec form, for SpecInputs.mounts. */
export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

/** A mount point as `docker inspect` shows it under "Mounts". */
export interface InspectMount {
  Type: string;
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}
