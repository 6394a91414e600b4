// File writes that a crash never leaves torn. writeFileAtomic is durable, for the stores under the
// data root: data fsynced, renamed into place, the directory fsynced for a new file, so even a
// power cut leaves the old file or the new one. writeFileReplacing is for run-time state under the
// exec root, which does not outlive a reboot anyway: renamed into place without the fsyncs (two
// disk flushes per write, ~10 ms here), which still leaves the old file or the new one when berthd
// is killed. runc writes its state.json the same way.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { errnoOf } from '../common/errors.js';

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function writeFileAtomic(path: string, data: string | Buffer, mode = 0o644): void {
  const tmp = `${path}.${process.pid}.tmp`;
  // The directory is fsynced only when the file is new. Replacing one, a power cut that loses the
  // rename leaves the old file, whose data was synced when it was written: the state before the
  // change, never a torn one. Docker's AtomicWriteFile does the same.
  const replacing = existsSync(path);
  const fd = openSync(tmp, 'w', mode);
  try {
    writeFileSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  if (!replacing) fsyncDir(dirname(path));
}

export function writeFileReplacing(path: string, data: string | Buffer, mode = 0o644): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode });
  renameSync(tmp, path);
}

/** A record written by writeFileAtomic, parsed; undefined when there is none. */
export function readJsonRecord<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw err;
  }
}
