// Pushing an image: its blobs (layers a few at a time, then the config), then its manifests, then
// the top manifest under the tag. A blob the registry has is not sent again; one that another
// repository of the same registry has (as pulls and pushes recorded) is mounted from there. An
// index goes up whole when every manifest it lists is here, else only this platform's manifest
// (a pull fetches one platform). Progress comes as Docker's push messages.
import { BerthError } from '../../common/errors.js';
import type { Descriptor } from '../../image/manifest.js';
import { familiarName, type ImageReference } from '../../image/reference.js';
import type { RegistryClient } from '../../registry/client.js';
import type { ContentStore } from '../../supervisor/content/store.js';
import { addDistributionSource, distributionSources } from '../../supervisor/images/pull.js';
import { distributable, type ImageContent } from '../../supervisor/images/read-image.js';

export interface PushProgress {
  status: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  aux?: { Tag: string; Digest: string; Size: number };
}

export interface PushDeps {
  content: ContentStore;
  registry: RegistryClient;
}

const PARALLEL_UPLOADS = 3;
const short = (digest: string) => digest.slice(digest.indexOf(':') + 1, digest.indexOf(':') + 13);

/** Pushes `img` to `dest` (which carries the tag); returns the pushed top manifest's descriptor. */
export async function pushImage(deps: PushDeps, img: ImageContent, dest: ImageReference, onProgress: (p: PushProgress) => void = () => {}): Promise<Descriptor> {
  const repoName = familiarName({ ...dest, tag: undefined, digest: undefined });
  onProgress({ status: `The push refers to repository [${dest.registry === 'docker.io' ? `docker.io/${dest.repository}` : repoName}]` });
  const plan = distributable(deps.content, img);
  const blobs = new Map<string, Descriptor>();
  const all = plan.manifests.length ? plan.manifests.flatMap((m) => m.blobs) : [img.manifest.config, ...img.manifest.layers];
  for (const b of all) blobs.set(b.digest, b);
  for (const b of blobs.values()) if (!deps.content.has(b.digest)) throw new BerthError('FAILED_PRECONDITION', `${repoName}: blob ${b.digest} is not here (pull the image again before pushing it)`);
  const configs = new Set(plan.manifests.length ? plan.manifests.map((m) => m.blobs[0]!.digest) : [img.manifest.config.digest]);
  const layers = [...blobs.values()].filter((b) => !configs.has(b.digest)).reverse(); // Docker lists the top layer first
  for (const b of layers) onProgress({ status: 'Preparing', id: short(b.digest) });
  const queue = [...layers, ...[...blobs.values()].filter((b) => configs.has(b.digest))];
  const uploader = async () => {
    for (let b = queue.shift(); b; b = queue.shift()) await pushBlob(deps, dest, b, configs.has(b.digest) ? undefined : onProgress);
  };
  await Promise.all(Array.from({ length: PARALLEL_UPLOADS }, uploader));

  for (const m of plan.manifests) await deps.registry.putManifest({ ...dest, tag: undefined, digest: m.d.digest }, m.bytes, m.d.mediaType);
  await deps.registry.putManifest(dest, plan.topBytes, plan.top.mediaType);
  const tag = dest.tag ?? dest.digest ?? 'latest';
  onProgress({ status: `${tag}: digest: ${plan.top.digest} size: ${plan.topBytes.length}` });
  onProgress({ status: '', aux: { Tag: tag, Digest: plan.top.digest, Size: plan.topBytes.length } });
  for (const d of [plan.top, ...plan.manifests.map((m) => m.d)]) if (deps.content.has(d.digest)) addDistributionSource(deps.content, d.digest, dest);
  return { ...plan.top, size: plan.topBytes.length };
}

async function pushBlob(deps: PushDeps, dest: ImageReference, b: Descriptor, say?: (p: PushProgress) => void): Promise<void> {
  const id = short(b.digest);
  const from = distributionSources(deps.content, b.digest, dest.registry).find((r) => r !== dest.repository);
  let sent = 0;
  let last = 0;
  const content = deps.content;
  const bytes = async function* () {
    for await (const chunk of content.reader(b.digest)) {
      sent += (chunk as Buffer).length;
      if (say && (sent - last > 512 * 1024 || sent === b.size)) {
        last = sent;
        say({ status: 'Pushing', id, progressDetail: { current: sent, total: b.size } });
      }
      yield chunk as Buffer;
    }
  };
  const result = await deps.registry.putBlob(dest, b.digest, b.size, bytes, from);
  addDistributionSource(deps.content, b.digest, dest);
  say?.({ status: result === 'exists' ? 'Layer already exists' : result === 'mounted' ? `Mounted from ${from}` : 'Pushed', id });
}
