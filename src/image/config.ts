// The image configuration (OCI image-spec config, which Docker's is a superset of): the runtime
// defaults a container starts from, the layers' diff IDs, and the history that `history` shows.
import { invalid } from '../common/errors.js';
import { parseDigest } from '../common/digest.js';

/** The container defaults part, with Docker's capitalised names. */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  Healthcheck?: Record<string, unknown>;
  OnBuild?: string[] | null;
  Shell?: string[];
  [key: string]: unknown;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  author?: string;
  comment?: string;
  config?: ContainerConfig;
  container_config?: ContainerConfig;
  docker_version?: string;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: HistoryEntry[];
  [key: string]: unknown;
}

/** Parses and checks a config: JSON, an os and architecture, layer diff IDs that are digests. */
export function parseImageConfig(bytes: Buffer | string, what = 'image config'): ImageConfig {
  let c: ImageConfig;
  try {
    c = JSON.parse(bytes.toString()) as ImageConfig;
  } catch {
    throw invalid(`${what} is not JSON`);
  }
  if (!c || typeof c !== 'object') throw invalid(`${what} is not a JSON object`);
  if (typeof c.os !== 'string' || typeof c.architecture !== 'string') throw invalid(`${what} has no os or architecture`);
  if (!c.rootfs || !Array.isArray(c.rootfs.diff_ids)) throw invalid(`${what} has no rootfs.diff_ids`);
  for (const d of c.rootfs.diff_ids) parseDigest(d);
  return c;
}

/** History entries paired with the layer each adds (undefined for an empty layer), oldest first. */
export function historyWithLayers(c: ImageConfig): Array<{ entry: HistoryEntry; layer?: number }> {
  const history: HistoryEntry[] = c.history?.length ? c.history : c.rootfs.diff_ids.map(() => ({}));
  let layer = 0;
  return history.map((entry) => ({ entry, layer: entry.empty_layer ? undefined : layer < c.rootfs.diff_ids.length ? layer++ : undefined }));
}
