// inspect (and container/image/volume/network inspect): the raw JSON objects as an indented array,
// or each one through -f/--format (a template over the raw fields, {{.State.Status}}).
import type { DockerApi } from '../../client/api.js';
import { ApiError } from '../../client/errors.js';
import { BerthError } from '../../common/errors.js';
import { FAILED, type Command, type Context } from '../command.js';
import type { FlagDef } from '../flags.js';
import { UsageError } from '../flags.js';
import { renderOne } from '../output/format.js';
import { errorText } from './util.js';
import { indentJson } from '../output/json-indent.js';

export type ObjectKind = 'container' | 'image' | 'volume' | 'network';


const notFoundText: Record<ObjectKind, string> = { container: 'container', image: 'image', volume: 'volume', network: 'network' };

/** Tries each kind in docker's order (container, image, network, volume); NOT_FOUND when none. */
async function inspectAny(api: DockerApi, name: string, kinds: ObjectKind[], size: boolean): Promise<string> {
  for (const kind of kinds) {
    try {
      return await api.inspectRaw(kind, name, size);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || (kind === 'image' && err.status === 400))) continue;
      throw err;
    }
  }
  throw new BerthError('NOT_FOUND', kinds.length === 1 ? `Error: No such ${notFoundText[kinds[0]!]}: ${name}` : `Error: No such object: ${name}`);
}

/** A JSON.parse reviver that gives each object its keys in sorted order. */
function sortedKeys(_key: string, v: unknown): unknown {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

async function runInspect(ctx: Context, names: string[], kinds: ObjectKind[], format: string | undefined, size: boolean): Promise<number> {
  const api = await ctx.api();
  const found: string[] = [];
  const errors: string[] = [];
  for (const name of names) {
    try {
      found.push(await inspectAny(api, name, kinds, size));
    } catch (err) {
      if (!(err instanceof BerthError)) throw err;
      errors.push(err instanceof ApiError ? errorText(err) : err.message);
    }
  }
  if (format) {
    const tmpl = format === 'json' ? '{{json .}}' : format;
    // As the docker CLI: the JSON is decoded into Go maps, whose keys json and range give in order.
    for (const item of found) ctx.stdout.write(`${renderOne(tmpl, JSON.parse(item, sortedKeys))}\n`);
  } else {
    ctx.stdout.write(`${found.length ? indentJson(`[${found.join(',')}]`) : '[]'}\n`);
  }
  for (const e of errors) ctx.stderr.write(`${e}\n`);
  if (errors.length) throw FAILED;
  return 0;
}

const formatFlag: FlagDef = {
  name: 'format', short: 'f', type: 'string',
  help: "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.",
};

export const inspectCommand: Command = {
  name: 'inspect',
  usage: '[OPTIONS] NAME|ID [NAME|ID...]',
  summary: 'Return low-level information on Docker objects',
  flags: [
    formatFlag,
    { name: 'size', short: 's', type: 'bool', help: 'Display total file sizes if the type is container' },
    { name: 'type', type: 'string', help: 'Only inspect objects of the given type' },
  ],
  minArgs: 1,
  run: async (ctx, f, args) => {
    const type = f.str('type');
    const all: ObjectKind[] = ['container', 'image', 'network', 'volume'];
    if (type && !all.includes(type as ObjectKind)) throw new UsageError(`"${type}" is not a valid value for --type`);
    return runInspect(ctx, args, type ? [type as ObjectKind] : all, f.str('format'), f.bool('size'));
  },
};

export function kindInspectCommand(kind: ObjectKind): Command {
  const label = kind.toUpperCase();
  return {
    name: 'inspect',
    usage: `[OPTIONS] ${label} [${label}...]`,
    summary: `Display detailed information on one or more ${kind}s`,
    flags: kind === 'container' ? [formatFlag, { name: 'size', short: 's', type: 'bool', help: 'Display total file sizes' }] : [formatFlag],
    minArgs: 1,
    run: (ctx, f, args) => runInspect(ctx, args, [kind], f.str('format'), f.bool('size')),
  };
}
