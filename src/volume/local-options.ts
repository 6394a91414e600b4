// The local driver's options, as Docker's (volume/local): `type`, `device` and `o` describe a
// mount(8) of the volume's _data directory (type=tmpfs,device=tmpfs,o=size=100m,uid=1000, or
// type=none,o=bind,device=/path, or an NFS export); without them a volume is a plain directory.
// `size` asks for a quota, which needs project quotas berth does not set up.
import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { invalid } from '../common/errors.js';

const VALID = new Set(['type', 'o', 'device', 'size']);
// Each option and those it needs, checked in this order so the message is always the same.
const REQUIRES: Array<[string, string[]]> = [['o', ['device', 'type']], ['type', ['device']], ['device', ['type']]];

export interface LocalMount {
  type: string;
  device: string;
  options: string[];
}

/** go-units' RAMInBytes: "100m", "1.5g", "512" → bytes. */
function ramInBytes(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = 1024 ** ' kmgtp'.indexOf((m[2] || ' ').toLowerCase());
  return Math.floor(Number(m[1]) * unit);
}

const isBind = (o: string | undefined): boolean => (o ?? '').split(',').some((x) => x === 'bind' || x === 'rbind');

/**
 * Checks the options of a new volume the way Docker's local driver does, plus what berth can
 * tell before a container needs the volume: a bind's device must be an existing absolute path.
 * Throws INVALID_ARGUMENT with Docker's wording ("invalid option: \"foo\"").
 */
export function checkLocalOptions(opts: Record<string, string> | null | undefined): void {
  if (!opts) return;
  for (const [k, v] of Object.entries(opts)) {
    if (!VALID.has(k)) throw invalid(`invalid option: ${JSON.stringify(k)}`);
    if (typeof v !== 'string') throw invalid(`invalid option: ${JSON.stringify(k)} must be a string`);
  }
  if (opts.size !== undefined) {
    const size = ramInBytes(opts.size);
    if (size === undefined) throw invalid(`invalid size: '${opts.size}'`);
    if (size > 0) throw invalid('quota size requested but no quota support');
  }
  for (const [opt, needs] of REQUIRES) {
    if (opts[opt] === undefined) continue;
    for (const need of needs) if (opts[need] === undefined) throw invalid(`missing required option: ${JSON.stringify(need)}`);
  }
  if (opts.type === undefined) return;
  if (!opts.type || /[\s,]/.test(opts.type)) throw invalid(`invalid option: type ${JSON.stringify(opts.type)} is not a file system type`);
  if (!opts.device) throw invalid('invalid option: "device" must not be empty');
  if (opts.type === 'none' && !isBind(opts.o)) throw invalid('invalid option: type "none" needs o=bind (or rbind): it bind-mounts the device path');
  if (isBind(opts.o)) {
    if (!isAbsolute(opts.device)) throw invalid(`invalid option: device ${JSON.stringify(opts.device)} must be an absolute host path for a bind mount`);
    try {
      statSync(opts.device);
    } catch {
      throw invalid(`invalid option: device ${opts.device} does not exist: a bind volume mounts an existing host path`);
    }
  }
}

/** The mount(8) a volume with these options needs on first use, or undefined for a plain directory. */
export function localMountOf(opts: Record<string, string> | null | undefined): LocalMount | undefined {
  if (!opts?.type || !opts.device) return undefined;
  return { type: opts.type, device: opts.device, options: (opts.o ?? '').split(',').filter(Boolean) };
}
