// runtime.v1.ImageService: images in the CRI's namespace, as containerd's CRI reports them.
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Message } from '../common/grpc/service-def.js';
import type { Credentials } from '../registry/auth.js';
import { CriContext } from './context.js';
import { unaryHandlers } from './handlers.js';
import type { CriImage } from './images.js';

/** The image's user: a numeric USER is a uid, anything else a name (containerd's getUserFromImage). */
function imageUser(img: CriImage): { uid?: Message; username: string } {
  const user = (img.config.config?.User ?? '').split(':')[0] ?? '';
  if (user === '') return { username: '' };
  if (/^\d+$/.test(user)) return { uid: { value: Number(user) }, username: '' };
  return { username: user };
}

function toMessage(img: CriImage): Message {
  return { id: img.id, repo_tags: img.repoTags, repo_digests: img.repoDigests, size: img.size, ...imageUser(img), spec: { image: img.id, annotations: {} }, pinned: img.pinned };
}

/** The CRI's AuthConfig as registry credentials ("auth" is base64 user:password). */
function credentials(auth: Message | null | undefined): Credentials | undefined {
  if (!auth) return undefined;
  if (auth.auth) {
    const text = Buffer.from(String(auth.auth), 'base64').toString('utf8');
    const i = text.indexOf(':');
    return { username: text.slice(0, i), password: text.slice(i + 1) };
  }
  if (auth.identity_token) return { username: String(auth.username ?? ''), password: '', identityToken: String(auth.identity_token) };
  if (auth.username) return { username: String(auth.username), password: String(auth.password ?? '') };
  return undefined;
}

export function imageService(ctx: CriContext): UntypedServiceImplementation {
  return unaryHandlers(ctx.options.log, 'ImageService', {
    ListImages: (req) => {
      const want = String(req.filter?.image?.image ?? '');
      const list = want ? [ctx.images.find(want)].filter((i): i is CriImage => !!i) : ctx.images.list();
      return { images: list.map(toMessage) };
    },
    // A missing image is an empty answer, not an error: the kubelet asks before pulling.
    ImageStatus: (req) => {
      const img = ctx.images.find(String(req.image?.image ?? ''));
      if (!img) return {};
      return { image: toMessage(img), info: req.verbose ? { info: JSON.stringify({ imageSpec: img.config, chainID: img.topChainId }) } : {} };
    },
    PullImage: async (req) => ({ image_ref: await ctx.images.pull(String(req.image?.image ?? ''), credentials(req.auth)) }),
    RemoveImage: (req) => {
      ctx.images.remove(String(req.image?.image ?? ''));
      return {};
    },
    ImageFsInfo: () => {
      const u = ctx.images.fsUsage();
      const usage = { timestamp: CriContext.now(), fs_id: { mountpoint: u.mountpoint }, used_bytes: { value: u.usedBytes }, inodes_used: { value: u.inodesUsed } };
      return { image_filesystems: [usage], container_filesystems: [] };
    },
  });
}
