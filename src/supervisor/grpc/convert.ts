// Conversions between the supervisor's values and containerd's messages: timestamps, descriptors,
// mounts, field masks.
import type { Descriptor } from '../../image/manifest.js';
import type { Mount } from '../snapshots/types.js';
import type { Message } from '../../common/grpc/service-def.js';

/** Go's zero time.Time (0001-01-01), what containerd sends for a time not set (a running task's exit). */
const GO_ZERO_SECONDS = -62135596800;

/** google.protobuf.Timestamp from a date (or an ISO string); Go's zero time for none. */
export function timestamp(d: Date | string | undefined): Message {
  if (d === undefined) return { seconds: GO_ZERO_SECONDS, nanos: 0 };
  const ms = new Date(d).getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

export function fromTimestamp(t: Message | undefined | null): Date | undefined {
  if (!t) return undefined;
  const ms = Number(t.seconds ?? 0) * 1000 + Math.floor(Number(t.nanos ?? 0) / 1_000_000);
  return ms > 0 ? new Date(ms) : undefined;
}

export function toDescriptor(d: Message | undefined | null): Descriptor {
  const out: Descriptor = { mediaType: d?.media_type ?? '', digest: d?.digest ?? '', size: Number(d?.size ?? 0) };
  if (d?.annotations && Object.keys(d.annotations).length) out.annotations = d.annotations;
  return out;
}

export function fromDescriptor(d: Descriptor): Message {
  return { media_type: d.mediaType, digest: d.digest, size: d.size, annotations: d.annotations ?? {} };
}

export function fromMounts(mounts: readonly Mount[]): Message[] {
  return mounts.map((m) => ({ type: m.type, source: m.source, target: '', options: m.options }));
}

export function toMounts(mounts: readonly Message[] | undefined): Mount[] {
  return (mounts ?? []).map((m) => ({ type: m.type ?? '', source: m.source ?? '', options: m.options ?? [] }));
}

/** A field mask's paths (none means "replace the whole object"). */
export const maskPaths = (mask: Message | undefined | null): string[] => mask?.paths ?? [];

/**
 * containerd's label update rule: with paths, "labels" replaces all and "labels.KEY" sets (or,
 * with an empty value, removes) one; without paths, the labels given replace all. Returns the
 * new labels, or throws on a path the object cannot update.
 */
export function updateLabels(current: Record<string, string>, given: Record<string, string> | undefined, paths: string[], refuse: (path: string) => never, other: (path: string) => boolean = () => false): Record<string, string> {
  if (paths.length === 0) return { ...(given ?? {}) };
  let labels = { ...current };
  for (const p of paths) {
    if (p === 'labels') labels = { ...(given ?? {}) };
    else if (p.startsWith('labels.')) {
      const key = p.slice('labels.'.length);
      const v = given?.[key];
      if (v) labels[key] = v;
      else delete labels[key];
    } else if (!other(p)) refuse(p);
  }
  return labels;
}
