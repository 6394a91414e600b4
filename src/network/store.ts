// The network state file: networks, their IPAM and endpoints, and published ports, in one JSON
// document replaced atomically (temp file, fsync, rename, fsync of the directory), so a kill -9 at
// any moment leaves either the old or the new state.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError, errnoOf } from '../common/errors.js';
import type { State } from './types.js';

const FILE = 'networks.json';

export function emptyState(): State {
  return { version: 1, networks: [], ports: {} };
}

export function loadState(dir: string): State {
  let text: string;
  try {
    text = readFileSync(join(dir, FILE), 'utf8');
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return emptyState();
    throw err;
  }
  let s: State;
  try {
    s = JSON.parse(text) as State;
  } catch (err) {
    throw new BerthError('INTERNAL', `network state ${join(dir, FILE)} is not valid JSON: ${(err as Error).message}; move it away to start with no networks`);
  }
  if (s.version !== 1 || !Array.isArray(s.networks)) throw new BerthError('INTERNAL', `network state ${join(dir, FILE)} has an unknown format (version ${String(s.version)})`);
  s.ports ??= {};
  return s;
}

export function saveState(dir: string, s: State): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, FILE);
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(s, null, 1));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

export function removeState(dir: string): void {
  rmSync(join(dir, FILE), { force: true });
}
