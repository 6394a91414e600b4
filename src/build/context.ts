// The build context: the tar the client sends, unpacked into a private directory (entries are
// resolved inside it, so `../x`, absolute names and symlink tricks stay inside), the Dockerfile
// read from it, and the files a COPY or ADD names, found and checksummed for the step cache.
// Symlinks in the context are never followed out of it: a source is resolved chroot-style.
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, type Stats } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { invalid } from '../common/errors.js';
import { applyLayer } from '../image/apply-layer.js';
import { cleanEntryPath, resolveDir } from '../image/secure-path.js';
import { PatternMatcher, buildFilesToRemove, parseDockerignore } from './dockerfile/index.js';

/** One file or directory a COPY/ADD source names: its host path, and its path relative to the context. */
export interface SourceMatch {
  hostPath: string;
  /** Relative to the context root ("" for the root itself). */
  relPath: string;
  stat: Stats;
}

export class BuildContext {
  private scratchDir?: string;

  private constructor(readonly dir: string) {}

  /**
   * A private directory beside the context, for the files steps need that are not the context's
   * (heredoc files, writable copies of bound sources); it goes with the context.
   */
  scratch(): string {
    this.scratchDir ??= mkdtempSync(join(dirname(this.dir), 'build-files-'));
    return this.scratchDir;
  }

  /** A directory as a source of files (another stage's or an image's root for COPY --from). */
  static at(dir: string): BuildContext {
    return new BuildContext(dir);
  }

  /** Unpacks the client's tar (plain or compressed) into `dir`, which must exist and be empty. */
  static async extract(body: AsyncIterable<Buffer>, dir: string): Promise<BuildContext> {
    try {
      await applyLayer(dir, body, 'literal');
    } catch (err) {
      rmSync(dir, { recursive: true, force: true }); // a refused context leaves nothing behind
      throw err;
    }
    return new BuildContext(dir);
  }

  /**
   * The Dockerfile's text (`name` as given in the request, relative to the context). Like
   * Docker, "Dockerfile" falls back to "dockerfile". Afterwards the .dockerignore and the
   * Dockerfile are taken out of the context when .dockerignore excludes them (the client sent
   * them only for the daemon to read).
   */
  readDockerfile(name = 'Dockerfile'): string {
    let path = this.hostPath(name);
    if (!isFile(path) && name === 'Dockerfile' && isFile(this.hostPath('dockerfile'))) path = this.hostPath('dockerfile');
    if (!isFile(path)) throw invalid(`Cannot locate specified Dockerfile: ${name}`);
    const text = readFileSync(path, 'utf8');
    const ignore = this.hostPath('.dockerignore');
    if (isFile(ignore)) {
      for (const f of buildFilesToRemove(parseDockerignore(readFileSync(ignore, 'utf8')), name)) rmSync(this.hostPath(f), { force: true });
    }
    return text;
  }

  /**
   * A path in the context, every symlink on the way (the last one too, as Docker's classic
   * builder follows a source that is a link) resolved inside the context.
   */
  hostPath(relPath: string): string {
    return resolveDir(this.dir, cleanEntryPath(relPath));
  }

  /**
   * What a COPY/ADD source names: one path, or with wildcards (Go's filepath.Match syntax) every
   * path in the context it matches. Docker's error when nothing is there.
   */
  sources(source: string): SourceMatch[] {
    const norm = posix.normalize(source);
    if (norm === '..' || norm.startsWith('../')) throw invalid(`COPY failed: forbidden path outside the build context: ${source} ()`);
    const rel = posix.normalize(`/${source}`).slice(1);
    if (/[*?[\\]/.test(rel)) {
      const matcher = new PatternMatcher([rel]);
      const out: SourceMatch[] = [];
      const walk = (dirRel: string) => {
        for (const name of readdirSync(join(this.dir, dirRel)).sort()) {
          const childRel = dirRel ? `${dirRel}/${name}` : name;
          const stat = lstatSync(join(this.dir, childRel));
          if (matcher.matches(childRel)) out.push({ hostPath: join(this.dir, childRel), relPath: childRel, stat });
          else if (stat.isDirectory()) walk(childRel);
        }
      };
      walk('');
      if (out.length === 0) throw invalid(`COPY failed: no source files were specified`);
      return out;
    }
    const hostPath = this.hostPath(rel);
    let stat: Stats;
    try {
      stat = lstatSync(hostPath);
    } catch {
      throw invalid(`COPY failed: file not found in build context or excluded by .dockerignore: stat ${rel || '.'}: file does not exist`);
    }
    return [{ hostPath, relPath: rel, stat }];
  }

  /**
   * A checksum of what `matches` hold (names, types, modes, contents, link targets, recursively):
   * the step cache's view of the copied files, as Docker's content hash is.
   */
  static checksum(matches: readonly SourceMatch[]): string {
    const h = createHash('sha256');
    const add = (path: string, name: string, st: Stats) => {
      h.update(`${name}\0${st.mode.toString(8)}\0${st.uid}:${st.gid}\0`);
      if (st.isSymbolicLink()) h.update(`->${readlinkSync(path)}\0`);
      else if (st.isFile()) h.update(`${st.size}\0`).update(readFileSync(path));
      else if (st.isDirectory()) {
        for (const child of readdirSync(path).sort()) add(join(path, child), `${name}/${child}`, lstatSync(join(path, child)));
      }
      h.update('\0');
    };
    for (const m of matches) add(m.hostPath, m.relPath, m.stat);
    return `sha256:${h.digest('hex')}`;
  }

  remove(): void {
    if (this.scratchDir) rmSync(this.scratchDir, { recursive: true, force: true });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function isFile(path: string): boolean {
  return existsSync(path) && lstatSync(path).isFile();
}
