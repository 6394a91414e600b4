// Image commands: images, pull, push, tag, rmi, history, save, load, import, image prune.
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import type { DockerApi } from '../../client/api.js';
import { readText } from '../../client/engine.js';
import { familiarName, familiarString, fullName, fullString, parseImageRef, type ImageRef } from '../../client/reference.js';
import { registryAuthHeader } from '../../client/registry-auth.js';
import type { ImageSummary } from '../../client/types.js';
import { BerthError } from '../../common/errors.js';
import type { Command, Context } from '../command.js';
import { UsageError } from '../flags.js';
import { renderItems, resolveFormat } from '../output/format.js';
import { displayJSONMessages } from '../output/progress.js';
import { goTimeString } from '../output/time.js';
import { humanDuration, humanSize } from '../output/units.js';
import { confirm } from './prompt.js';
import { markRow } from '../template/docker-funcs.js';
import { forEachArg, parseFilters, refuseTerminal, shortId } from './util.js';

const terminalWidth = (out: Writable & { columns?: number }) => out.columns ?? 80;

/** The tag the API is asked for: the digest, the tag, or "latest". */
function apiTag(r: ImageRef): string {
  return r.digest ?? r.tag ?? 'latest';
}

/** POST /images/create with the registry's credentials and the progress shown on `out`. */
export async function pullImage(ctx: Context, api: DockerApi, image: string, opts: { platform?: string; quiet?: boolean; out: Writable & { isTTY?: boolean } }): Promise<void> {
  const ref = parseImageRef(image);
  const auth = await registryAuthHeader(ref.domain, ctx.configPath);
  const res = await api.pull({ fromImage: fullName(ref), tag: apiTag(ref), platform: opts.platform }, auth);
  if (opts.quiet) {
    await displayJSONMessages(res, { write: () => true } as unknown as Writable, { isTerminal: false });
    return;
  }
  await displayJSONMessages(res, opts.out, { isTerminal: !!opts.out.isTTY, width: terminalWidth(opts.out) });
}

// ------------------------------------------------------------------ images (ls)

interface ImageRow {
  ID: string;
  Repository: string;
  Tag: string;
  Digest: string;
  CreatedSince: string;
  CreatedAt: string;
  Size: string;
  Containers: string;
  VirtualSize: string;
  SharedSize: string;
  UniqueSize: string;
}

const imageHeaders = {
  ID: 'IMAGE ID', Repository: 'REPOSITORY', Tag: 'TAG', Digest: 'DIGEST', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', Size: 'SIZE',
  Containers: 'CONTAINERS', VirtualSize: 'VIRTUAL SIZE', SharedSize: 'SHARED SIZE', UniqueSize: 'UNIQUE SIZE',
};

function imageRows(images: ImageSummary[], digests: boolean, trunc: boolean): ImageRow[] {
  const rows: ImageRow[] = [];
  for (const img of images) {
    const base = (repo: string, tag: string, digest: string): ImageRow => markRow({
      ID: trunc ? shortId(img.Id) : img.Id,
      Repository: repo,
      Tag: tag,
      Digest: digest,
      CreatedSince: `${humanDuration(Date.now() - img.Created * 1000)} ago`,
      CreatedAt: goTimeString(new Date(img.Created * 1000)),
      Size: humanSize(img.Size, 3),
      Containers: img.Containers === -1 || img.Containers === undefined ? 'N/A' : String(img.Containers),
      VirtualSize: humanSize(img.VirtualSize ?? img.Size),
      SharedSize: img.SharedSize === -1 || img.SharedSize === undefined ? 'N/A' : humanSize(img.SharedSize, 3),
      UniqueSize: img.SharedSize === -1 || img.SharedSize === undefined ? 'N/A' : humanSize(img.Size - img.SharedSize, 3),
    });
    const tags = (img.RepoTags ?? []).filter((t) => t !== '<none>:<none>');
    const dgsts = (img.RepoDigests ?? []).filter((d) => d !== '<none>@<none>');
    if (!tags.length && !dgsts.length) {
      rows.push(base('<none>', '<none>', '<none>'));
      continue;
    }
    const repoTags = new Map<string, string[]>();
    const repoDigests = new Map<string, string[]>();
    for (const t of tags) {
      try {
        const r = parseImageRef(t);
        if (r.tag) repoTags.set(familiarName(r), [...(repoTags.get(familiarName(r)) ?? []), r.tag]);
      } catch {
        // not a reference: skip, as docker does
      }
    }
    for (const d of dgsts) {
      try {
        const r = parseImageRef(d);
        if (r.digest) repoDigests.set(familiarName(r), [...(repoDigests.get(familiarName(r)) ?? []), r.digest]);
      } catch {
        // skip
      }
    }
    const mine: ImageRow[] = [];
    for (const [repo, ts] of repoTags) {
      const ds = digests ? repoDigests.get(repo) ?? [] : [];
      repoDigests.delete(repo);
      for (const t of ts) {
        if (!ds.length) mine.push(base(repo, t, '<none>'));
        else for (const d of ds) mine.push(base(repo, t, d));
      }
    }
    for (const [repo, ds] of repoDigests) {
      if (digests) for (const d of ds) mine.push(base(repo, '<none>', d));
      else mine.push(base(repo, '<none>', '<none>'));
    }
    mine.sort((a, b) => a.Repository.localeCompare(b.Repository) || a.Tag.localeCompare(b.Tag));
    rows.push(...mine);
  }
  return rows;
}

export const imagesCommand: Command = {
  name: 'images',
  usage: '[OPTIONS] [REPOSITORY[:TAG]]',
  summary: 'List images',
  aliasPaths: ['image ls', 'image list', 'images'],
  flags: [
    { name: 'all', short: 'a', type: 'bool', help: 'Show all images (default hides intermediate images)' },
    { name: 'digests', type: 'bool', help: 'Show digests' },
    { name: 'filter', short: 'f', type: 'list', help: 'Filter output based on conditions provided', valueName: 'filter' },
    { name: 'format', type: 'string', help: "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template." },
    { name: 'no-trunc', type: 'bool', help: "Don't truncate output" },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Only show image IDs' },
  ],
  maxArgs: 1,
  run: async (ctx, f, args) => {
    const api = await ctx.api();
    const filters = parseFilters(f.list('filter'));
    if (args[0]) (filters.reference ??= []).push(args[0]);
    const images = await api.listImages({ all: f.bool('all'), filters });
    const rows = imageRows(images, f.bool('digests'), !f.bool('no-trunc'));
    const def = f.bool('digests')
      ? 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}'
      : 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';
    const format = f.bool('quiet') ? '{{.ID}}' : resolveFormat(f.str('format'), def);
    ctx.stdout.write(renderItems(format, rows, imageHeaders));
  },
};

// ------------------------------------------------------------------ pull / push

export const pullCommand: Command = {
  name: 'pull',
  usage: '[OPTIONS] NAME[:TAG|@DIGEST]',
  summary: 'Download an image from a registry',
  aliasPaths: ['image pull', 'pull'],
  flags: [
    { name: 'all-tags', short: 'a', type: 'bool', help: 'Download all tagged images in the repository' },
    { name: 'disable-content-trust', type: 'bool', help: 'Skip image verification', default: true },
    { name: 'platform', type: 'string', help: 'Set platform if server is multi-platform capable' },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Suppress verbose output' },
  ],
  minArgs: 1,
  maxArgs: 1,
  run: async (ctx, f, args) => {
    const api = await ctx.api();
    const ref = parseImageRef(args[0]!);
    if (f.bool('all-tags') && (ref.tag || ref.digest)) throw new UsageError('tag can\'t be used with --all-tags/-a');
    if (!f.bool('all-tags') && !ref.tag && !ref.digest && !f.bool('quiet')) ctx.stdout.write('Using default tag: latest\n');
    const auth = await registryAuthHeader(ref.domain, ctx.configPath);
    const res = await api.pull({ fromImage: fullName(ref), tag: f.bool('all-tags') ? undefined : apiTag(ref), platform: f.str('platform') }, auth);
    const out = f.bool('quiet') ? ({ write: () => true } as unknown as Writable) : ctx.stdout;
    await displayJSONMessages(res, out, { isTerminal: !f.bool('quiet') && !!ctx.stdout.isTTY, width: terminalWidth(ctx.stdout) });
    ctx.stdout.write(`${f.bool('all-tags') ? fullName(ref) : fullString(ref)}\n`);
  },
};

export const pushCommand: Command = {
  name: 'push',
  usage: '[OPTIONS] NAME[:TAG]',
  summary: 'Upload an image to a registry',
  aliasPaths: ['image push', 'push'],
  flags: [
    { name: 'all-tags', short: 'a', type: 'bool', help: 'Push all tags of an image to the repository' },
    { name: 'disable-content-trust', type: 'bool', help: 'Skip image signing', default: true },
    { name: 'platform', type: 'string', help: 'Push a platform-specific manifest as a single-platform image to the registry' },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Suppress verbose output' },
  ],
  minArgs: 1,
  maxArgs: 1,
  run: async (ctx, f, args) => {
    const api = await ctx.api();
    const ref = parseImageRef(args[0]!);
    if (!f.bool('all-tags') && !ref.tag && !ref.digest && !f.bool('quiet')) ctx.stdout.write('Using default tag: latest\n');
    const auth = await registryAuthHeader(ref.domain, ctx.configPath);
    const res = await api.push(familiarName(ref), f.bool('all-tags') ? undefined : ref.tag ?? 'latest', auth);
    const out = f.bool('quiet') ? ({ write: () => true } as unknown as Writable) : ctx.stdout;
    await displayJSONMessages(res, out, { isTerminal: !f.bool('quiet') && !!ctx.stdout.isTTY, width: terminalWidth(ctx.stdout) });
    if (f.bool('quiet')) ctx.stdout.write(`${familiarString(ref)}\n`);
  },
};

// ------------------------------------------------------------------ tag / rmi / history

export const tagCommand: Command = {
  name: 'tag',
  usage: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
  summary: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  aliasPaths: ['image tag', 'tag'],
  minArgs: 2,
  maxArgs: 2,
  run: async (ctx, _f, args) => {
    const api = await ctx.api();
    const target = parseImageRef(args[1]!);
    if (target.digest) throw new BerthError('INVALID_ARGUMENT', 'refusing to create a tag with a digest reference');
    await api.tag(args[0]!, fullName(target), target.tag ?? 'latest');
  },
};

export const rmiCommand: Command = {
  name: 'rmi',
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  summary: 'Remove one or more images',
  aliasPaths: ['image rm', 'image remove', 'rmi'],
  flags: [
    { name: 'force', short: 'f', type: 'bool', help: 'Force removal of the image' },
    { name: 'no-prune', type: 'bool', help: 'Do not delete untagged parents' },
  ],
  minArgs: 1,
  run: async (ctx, f, args) => {
    const api = await ctx.api();
    return forEachArg(ctx, args, async (name) => {
      const items = await api.removeImage(name, { force: f.bool('force'), noprune: f.bool('no-prune') });
      const lines = (items ?? []).map((i) => (i.Untagged ? `Untagged: ${i.Untagged}` : `Deleted: ${i.Deleted}`));
      return lines.length ? lines.join('\n') : undefined;
    });
  },
};

export const historyCommand: Command = {
  name: 'history',
  usage: '[OPTIONS] IMAGE',
  summary: 'Show the history of an image',
  aliasPaths: ['image history', 'history'],
  flags: [
    { name: 'format', type: 'string', help: 'Format output using a custom template' },
    { name: 'human', short: 'H', type: 'bool', help: 'Print sizes and dates in human readable format', default: true },
    { name: 'no-trunc', type: 'bool', help: "Don't truncate output" },
    { name: 'platform', type: 'string', help: 'Show history for the given platform' },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Only show image IDs' },
  ],
  minArgs: 1,
  maxArgs: 1,
  run: async (ctx, f, args) => {
    const api = await ctx.api();
    const items = await api.history(args[0]!);
    const trunc = !f.bool('no-trunc');
    const human = f.bool('human');
    const ellipsis = (s: string, n: number) => ([...s].length <= n ? s : `${[...s].slice(0, n - 1).join('')}…`);
    const rows = items.map((h) => markRow({
      ID: h.Id === '<missing>' || !h.Id ? '<missing>' : trunc ? shortId(h.Id) : h.Id,
      CreatedSince: human ? `${humanDuration(Date.now() - h.Created * 1000)} ago` : new Date(h.Created * 1000).toISOString().replace('.000Z', 'Z'),
      CreatedAt: new Date(h.Created * 1000).toISOString().replace('.000Z', 'Z'),
      CreatedBy: trunc ? ellipsis(h.CreatedBy.replace(/\t/g, ' '), 45) : h.CreatedBy.replace(/\t/g, ' '),
      Size: human ? humanSize(h.Size, 3) : String(h.Size),
      Comment: h.Comment,
    }));
    const format = f.bool('quiet') ? '{{.ID}}' : resolveFormat(f.str('format'), 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}');
    ctx.stdout.write(renderItems(format, rows, { ID: 'IMAGE', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' }));
  },
};

// ------------------------------------------------------------------ save / load / import

/** Streams a response body to -o FILE (atomically) or stdout (never a terminal). */
export async function writeOutput(ctx: Context, body: Readable, file: string | undefined): Promise<void> {
  if (!file) {
    refuseTerminal(ctx);
    await pipeline(body, ctx.stdout, { end: false });
    return;
  }
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await pipeline(body, createWriteStream(tmp));
    await rename(tmp, file);
  } finally {
    await rm(tmp, { force: true });
  }
}

export const saveCommand: Command = {
  name: 'save',
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  summary: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
  aliasPaths: ['image save', 'save'],
  flags: [
    { name: 'output', short: 'o', type: 'string', help: 'Write to a file, instead of STDOUT' },
    { name: 'platform', type: 'list', help: 'Save only the given platform(s)' },
  ],
  minArgs: 1,
  run: async (ctx, f, args) => {
    if (!f.str('output')) refuseTerminal(ctx);
    const api = await ctx.api();
    await writeOutput(ctx, await api.save(args), f.str('output'));
  },
};

export const loadCommand: Command = {
  name: 'load',
  usage: '[OPTIONS]',
  summary: 'Load an image from a tar archive or STDIN',
  aliasPaths: ['image load', 'load'],
  flags: [
    { name: 'input', short: 'i', type: 'string', help: 'Read from tar archive file, instead of STDIN' },
    { name: 'platform', type: 'list', help: 'Load only the given platform(s)' },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Suppress the load output' },
  ],
  maxArgs: 0,
  run: async (ctx, f) => {
    const file = f.str('input');
    if (!file && ctx.stdin.isTTY) throw new BerthError('INVALID_ARGUMENT', 'requested load from stdin, but stdin is empty');
    const api = await ctx.api();
    const input = file ? createReadStream(file) : ctx.stdin;
    const res = await api.load(input as Readable, f.bool('quiet') || !ctx.stdout.isTTY);
    if (String(res.headers['content-type'] ?? '').includes('json')) await displayJSONMessages(res, ctx.stdout, { isTerminal: !!ctx.stdout.isTTY, width: terminalWidth(ctx.stdout) });
    else ctx.stdout.write(await readText(res));
  },
};

export const importCommand: Command = {
  name: 'import',
  usage: '[OPTIONS] file|URL|- [REPOSITORY[:TAG]]',
  summary: 'Import the contents from a tarball to create a filesystem image',
  aliasPaths: ['image import', 'import'],
  flags: [
    { name: 'change', short: 'c', type: 'list', help: 'Apply Dockerfile instruction to the created image' },
    { name: 'message', short: 'm', type: 'string', help: 'Set commit message for imported image' },
    { name: 'platform', type: 'string', help: 'Set platform if server is multi-platform capable' },
  ],
  minArgs: 1,
  maxArgs: 2,
  run: async (ctx, f, args) => {
    const [source, target] = args as [string, string | undefined];
    let repo: string | undefined;
    let tag: string | undefined;
    if (target) {
      const r = parseImageRef(target);
      if (r.digest) throw new BerthError('INVALID_ARGUMENT', 'refusing to import to a digest reference');
      repo = fullName(r);
      tag = r.tag;
    }
    const api = await ctx.api();
    const isUrl = /^(https?):\/\//.test(source);
    const body = source === '-' ? (ctx.stdin as Readable) : isUrl ? undefined : createReadStream(source);
    const res = await api.importImage({ fromSrc: source === '-' || !isUrl ? '-' : source, repo, tag, message: f.str('message'), changes: f.list('change'), platform: f.str('platform') }, body);
    await displayJSONMessages(res, ctx.stdout, { isTerminal: !!ctx.stdout.isTTY, width: terminalWidth(ctx.stdout) });
  },
};

export const imagePruneCommand: Command = {
  name: 'prune',
  usage: '[OPTIONS]',
  summary: 'Remove unused images',
  flags: [
    { name: 'all', short: 'a', type: 'bool', help: 'Remove all unused images, not just dangling ones' },
    { name: 'filter', type: 'list', help: 'Provide filter values (e.g. "until=<timestamp>")', valueName: 'filter' },
    { name: 'force', short: 'f', type: 'bool', help: 'Do not prompt for confirmation' },
  ],
  maxArgs: 0,
  run: async (ctx, f) => {
    const warning = f.bool('all')
      ? 'WARNING! This will remove all images without at least one container associated to them.'
      : 'WARNING! This will remove all dangling images.';
    if (!f.bool('force') && !(await confirm(ctx, warning))) return;
    const api = await ctx.api();
    const filters = parseFilters(f.list('filter'));
    filters.dangling = [f.bool('all') ? 'false' : 'true'];
    const r = await api.pruneImages(filters);
    if (r.ImagesDeleted?.length) {
      ctx.stdout.write('Deleted Images:\n');
      for (const i of r.ImagesDeleted) ctx.stdout.write(i.Untagged ? `untagged: ${i.Untagged}\n` : `deleted: ${i.Deleted}\n`);
      ctx.stdout.write('\n');
    }
    ctx.stdout.write(`Total reclaimed space: ${humanSize(r.SpaceReclaimed)}\n`);
  },
};
