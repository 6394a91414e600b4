// The Engine API's JSON shapes for images: the summary `docker images` lists, what
// `docker image inspect` prints, and `docker history`'s rows.
import { historyWithLayers, type ContainerConfig } from '../../image/config.js';
import type { ImageService, LocalImage } from './service.js';

export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
  SharedSize: number;
  VirtualSize: number;
  Labels: Record<string, string>;
  Containers: number;
}

const unix = (iso: string | undefined) => (iso ? Math.floor(new Date(iso).getTime() / 1000) : 0);

/** When the image was made: its config's date, else when it was recorded here. */
function createdOf(img: LocalImage): string {
  return img.config.created && !img.config.created.startsWith('0001-') ? img.config.created : img.recordedAt;
}

export function imageSummary(svc: ImageService, img: LocalImage, opts: { sharedSize?: number; containers?: number } = {}): ImageSummary {
  const size = svc.size(img);
  return {
    Id: img.id,
    ParentId: '',
    // API 1.41 lists an image without names as <none>; the CLI shows the same either way.
    RepoTags: img.repoTags.length ? img.repoTags : img.repoDigests.length ? [] : ['<none>:<none>'],
    RepoDigests: img.repoDigests.length ? img.repoDigests : img.repoTags.length ? [] : ['<none>@<none>'],
    Created: unix(createdOf(img)),
    Size: size,
    SharedSize: opts.sharedSize ?? -1,
    VirtualSize: size,
    Labels: img.config.config?.Labels ?? {},
    Containers: opts.containers ?? -1,
  };
}

const emptyConfig = (c: ContainerConfig | undefined): Record<string, unknown> => ({
  Hostname: '', Domainname: '', User: '', AttachStdin: false, AttachStdout: false, AttachStderr: false, Tty: false, OpenStdin: false, StdinOnce: false,
  Env: null, Cmd: null, Image: '', Volumes: null, WorkingDir: '', Entrypoint: null, OnBuild: null, Labels: null,
  ...(c ?? {}),
});

export function imageInspect(svc: ImageService, img: LocalImage): Record<string, unknown> {
  const size = svc.size(img);
  return {
    Id: img.id,
    RepoTags: img.repoTags,
    RepoDigests: img.repoDigests,
    Parent: '',
    Comment: img.config.comment ?? '',
    Created: createdOf(img),
    Container: (img.config.container as string | undefined) ?? '',
    ContainerConfig: emptyConfig(img.config.container_config),
    DockerVersion: img.config.docker_version ?? '',
    Author: img.config.author ?? '',
    Config: emptyConfig(img.config.config),
    Architecture: img.config.architecture,
    ...(img.config.variant ? { Variant: img.config.variant } : {}),
    Os: img.config.os,
    Size: size,
    VirtualSize: size,
    GraphDriver: { Name: svc.deps.snapshotter.name, Data: null },
    RootFS: { Type: 'layers', Layers: img.config.rootfs.diff_ids },
    Metadata: { LastTagTime: img.lastTagTime ?? '0001-01-01T00:00:00Z' },
  };
}

export interface HistoryRow {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

/** Newest first, as `docker history`: the top row carries the image ID and tags, the rest <missing>. */
export function imageHistory(svc: ImageService, img: LocalImage): HistoryRow[] {
  const rows = historyWithLayers(img.config).map(({ entry, layer }) => ({
    Id: '<missing>',
    Created: unix(entry.created),
    CreatedBy: entry.created_by ?? '',
    Tags: null as string[] | null,
    Size: layer === undefined ? 0 : svc.layerSize(img.chainIds[layer]!),
    Comment: entry.comment ?? '',
  }));
  rows.reverse();
  if (rows[0]) Object.assign(rows[0], { Id: img.id, Tags: img.repoTags.length ? img.repoTags : null });
  return rows;
}

/** `docker system df`'s image part: each image's size and what it shares, and all bytes on disk. */
export function imageDiskUsage(svc: ImageService, containersOf: (id: string) => number = () => 0): { LayersSize: number; Images: ImageSummary[] } {
  const images = svc.list();
  const users = new Map<string, number>(); // chain ID → images using it
  for (const img of images) for (const c of img.chainIds) users.set(c, (users.get(c) ?? 0) + 1);
  return {
    LayersSize: svc.bytesOnDisk(),
    Images: images.map((img) => imageSummary(svc, img, {
      sharedSize: img.chainIds.filter((c) => users.get(c)! > 1).reduce((s, c) => s + svc.layerSize(c), 0),
      containers: containersOf(img.id),
    })),
  };
}
