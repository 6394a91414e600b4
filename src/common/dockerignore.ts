// .dockerignore: reading the file (moby/patternmatcher/ignorefile) and matching context paths
// (moby/patternmatcher): Go filepath.Match syntax (*, ?, [...], \ escapes) plus ** for any number
// of directories; a pattern that matches a parent directory excludes everything below it; the last
// matching pattern wins, so a later `!pattern` re-includes what an earlier one excluded.
//
// Who applies it (Docker's split, which berth follows):
//  - the client, when it tars the context, skips excluded paths, but never the Dockerfile or the
//    .dockerignore itself (keepBuildFiles adds the exceptions);
//  - the daemon, after reading the Dockerfile from the context, deletes those two files from the
//    context when the patterns exclude them (buildFilesToRemove), so COPY . cannot see them.
//    A context tar from another client (dockerode, the API) is used as sent otherwise.
import { invalid } from './errors.js';
import { trimSpace } from './go-space.js';

/** Go's path.Clean for slash-separated paths. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const joined = out.join('/');
  return rooted ? `/${joined}` : joined === '' ? '.' : joined;
}

/**
 * Reads .dockerignore text into patterns: lines starting with '#' are comments, blank lines are
 * skipped, each pattern is trimmed and cleaned, a leading '/' is dropped (patterns are relative
 * to the context root), and a leading '!' marks an exception.
 */
export function parseDockerignore(text: string): string[] {
  const patterns: string[] = [];
  text.replace(/^\uFEFF/, '').split('\n').forEach((line) => {
    line = line.replace(/\r$/, '');
    if (line.startsWith('#')) return;
    let pattern = trimSpace(line);
    if (pattern === '') return;
    const invert = pattern.startsWith('!');
    if (invert) pattern = trimSpace(pattern.slice(1));
    if (pattern !== '') {
      pattern = cleanPath(pattern);
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    }
    patterns.push(invert ? `!${pattern}` : pattern);
  });
  return patterns;
}

/** Throws unless `pattern` is valid filepath.Match syntax (Go's ErrBadPattern cases). */
function checkGlob(pattern: string): void {
  const bad = () => invalid(`syntax error in pattern: ${JSON.stringify(pattern)}`);
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    if (ch === '\\') {
      if (++i >= chars.length) throw bad();
    } else if (ch === '[') {
      i++;
      if (chars[i] === '^') i++;
      let ranges = 0;
      for (;;) {
        if (chars[i] === ']' && ranges > 0) break;
        // lo, optionally -hi; neither may be empty, an unescaped '-' or ']'.
        for (let side = 0; side < 2; side++) {
          let c = chars[i];
          if (c === undefined || c === '-' || c === ']') throw bad();
          if (c === '\\') c = chars[++i];
          if (c === undefined || chars[i + 1] === undefined) throw bad();
          i++;
          if (side === 0 && chars[i] !== '-') break;
          if (side === 0) i++;
        }
        ranges++;
      }
    }
  }
}

type MatchType = 'exact' | 'prefix' | 'suffix' | 'regexp';

class Pattern {
  readonly type: MatchType;
  private readonly re: RegExp | undefined;

  constructor(
    readonly text: string,
    readonly exclusion: boolean,
  ) {
    // Like patternmatcher: plain strings compare, "x/**" is a prefix, "**/x" a suffix, else a regexp.
    let type: MatchType = 'exact';
    let re = '^';
    const chars = Array.from(text);
    for (let i = 0, n = 0; i < chars.length; i++, n++) {
      const ch = chars[i] as string;
      if (ch === '*') {
        if (chars[i + 1] === '*') {
          i++;
          if (chars[i + 1] === '/') i++;
          if (i + 1 >= chars.length) {
            if (type === 'exact') type = 'prefix';
            else {
              re += '.*';
              type = 'regexp';
            }
          } else {
            re += '(?:.*/)?'; // any number of directories, even none
            type = 'regexp';
          }
          if (n === 0) type = 'suffix';
        } else {
          re += '[^/]*';
          type = 'regexp';
        }
      } else if (ch === '?') {
        re += '(?:[\\ud800-\\udbff][\\udc00-\\udfff]|[^/])'; // one character, not a separator
        type = 'regexp';
      } else if (ch === '\\') {
        const next = chars[++i] as string; // checkGlob guarantees one
        re += /^[a-zA-Z0-9]$/.test(next) ? next : `\\${next}`; // an escaped character is itself
        type = 'regexp';
      } else if (ch === '[' || ch === ']') {
        re += ch;
        type = 'regexp';
      } else {
        re += ch.replace(/[.+()|{}$]/g, '\\$&'); // what filepath.Match treats literally
      }
    }
    this.type = type;
    if (type === 'regexp') {
      try {
        this.re = new RegExp(`${re}$`);
      } catch {
        throw invalid(`syntax error in pattern: ${JSON.stringify(text)}`);
      }
    }
  }

  match(path: string): boolean {
    switch (this.type) {
      case 'exact':
        return path === this.text;
      case 'prefix':
        return path.startsWith(this.text.slice(0, -2));
      case 'suffix': {
        const suffix = this.text.slice(2);
        return path.endsWith(suffix) || (suffix.startsWith('/') && path === suffix.slice(1));
      }
      case 'regexp':
        return (this.re as RegExp).test(path);
    }
  }
}

/** Per-directory match results, handed from a directory to its children while walking. */
export interface MatchInfo {
  readonly parentMatched: readonly boolean[];
}

/** What a context walker does with an entry. */
export type WalkDecision = 'include' | 'exclude' | 'exclude-but-descend';

/** A compiled set of .dockerignore patterns. Paths are slash-separated and relative to the context root. */
export class PatternMatcher {
  private readonly patterns: Pattern[] = [];
  /** Some pattern is an exception ("!..."). */
  readonly hasExclusions: boolean = false;

  constructor(patterns: readonly string[]) {
    for (const raw of patterns) {
      let p = trimSpace(raw);
      if (p === '') continue;
      p = cleanPath(p);
      let exclusion = false;
      if (p.startsWith('!')) {
        if (p.length === 1) throw invalid('illegal exclusion pattern: "!"');
        exclusion = true;
        p = p.slice(1);
        this.hasExclusions = true;
      }
      checkGlob(p);
      this.patterns.push(new Pattern(p, exclusion));
    }
  }

  /** The patterns, cleaned, exceptions with their '!'. */
  get list(): string[] {
    return this.patterns.map((p) => (p.exclusion ? `!${p.text}` : p.text));
  }

  /** Whether `path` is excluded: by a pattern matching it or one of its parent directories. */
  matches(path: string): boolean {
    const file = cleanPath(path);
    if (file === '.') return false; // the context root is never excluded
    return this.matchesWithParent(file).excluded;
  }

  /**
   * The walker's form of matches(): pass the MatchInfo returned for the parent directory (none at
   * the top level) and keep the returned one for this entry's children.
   */
  matchesWithParent(path: string, parent?: MatchInfo): { excluded: boolean; info: MatchInfo } {
    const inherited = parent?.parentMatched;
    if (inherited && inherited.length !== this.patterns.length) throw new Error('wrong number of values in parentMatched');
    const file = cleanPath(path);
    const slash = file.lastIndexOf('/');
    const parentDirs = slash < 0 ? [] : file.slice(0, slash).split('/');
    let excluded = false;
    const info: boolean[] = [];
    this.patterns.forEach((pattern, i) => {
      let match = inherited?.[i] ?? false;
      if (!match) {
        // An exception only matters once something matched; a plain pattern only before.
        if (pattern.exclusion !== excluded) {
          info[i] = false;
          return;
        }
        match = pattern.match(file);
        if (!match && !inherited) {
          for (let d = 1; d <= parentDirs.length && !match; d++) match = pattern.match(parentDirs.slice(0, d).join('/'));
        }
      }
      info[i] = match;
      if (match) excluded = !pattern.exclusion;
    });
    return { excluded, info: { parentMatched: info } };
  }

  /**
   * For an excluded directory: whether a walker must still look inside because an exception
   * names a path under it. Like Docker, only exceptions whose literal text starts with
   * "<dir>/" count ("!dir/keep" does, "!*\/keep" does not).
   */
  shouldDescend(dir: string): boolean {
    if (!this.hasExclusions) return false;
    const prefix = `${cleanPath(dir)}/`;
    return this.patterns.some((p) => p.exclusion && `${p.text}/`.startsWith(prefix));
  }

  /**
   * What a walker does with one entry: include it; exclude it (and, for a directory, everything
   * below); or, for an excluded directory that exceptions reach into, leave the directory entry
   * out but visit its children.
   */
  decide(path: string, isDir: boolean): WalkDecision {
    if (!this.matches(path)) return 'include';
    return isDir && this.shouldDescend(path) ? 'exclude-but-descend' : 'exclude';
  }
}

/**
 * Client side (`docker build` sending the context): the patterns plus exceptions that keep the
 * .dockerignore and the Dockerfile (its path in the context) in the tar, since the daemon
 * needs them. A Dockerfile read from stdin is not in the context, so it is not kept.
 */
export function keepBuildFiles(patterns: readonly string[], dockerfile = 'Dockerfile', dockerfileFromStdin = false): string[] {
  const out = [...patterns];
  const m = new PatternMatcher(patterns);
  if (m.matches('.dockerignore')) out.push('!.dockerignore');
  const df = cleanPath(dockerfile);
  if (!dockerfileFromStdin && m.matches(df)) out.push(`!${df}`);
  return out;
}

/**
 * Daemon side: after reading the Dockerfile, the context files to delete because the
 * .dockerignore excludes them (".dockerignore" and/or the Dockerfile's path).
 */
export function buildFilesToRemove(patterns: readonly string[], dockerfile = 'Dockerfile'): string[] {
  const m = new PatternMatcher(patterns);
  return ['.dockerignore', cleanPath(dockerfile)].filter((f) => m.matches(f));
}
