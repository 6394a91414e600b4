// Variable substitution and word splitting with the rules of Docker's Dockerfile shell lexer
// (buildkit frontend/dockerfile/shell): $VAR, ${VAR}, ${VAR:-w}, ${VAR-w}, ${VAR:+w}, ${VAR+w},
// ${VAR:?msg}, ${VAR?msg}, ${VAR#p}, ${VAR##p}, ${VAR%p}, ${VAR%%p}, ${VAR/p/r}, ${VAR//p/r};
// single quotes are literal, double quotes expand, the escape token (\ or `) escapes one character.
// It is not a shell: no command substitution, no arithmetic, no globbing.
import { isSpace, trimLeftSpace, trimSpace } from '../../common/go-space.js';
import { DockerfileError } from './errors.js';

export { isSpace, trimLeftSpace, trimSpace };

export type EscapeToken = '\\' | '`';

/** Variables visible to an expansion, by exact name (Linux: names are case-sensitive). */
export type Env = ReadonlyMap<string, string>;

/** Builds an Env from "KEY=value" strings (a later KEY wins, as in Docker). A bare "KEY" is set to "". */
export function envFromList(list: Iterable<string>): Map<string, string> {
  const env = new Map<string, string>();
  for (const kv of list) {
    const eq = kv.indexOf('=');
    if (eq < 0) env.set(kv, '');
    else env.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  return env;
}

export interface LexOptions {
  /** Keep the quote characters in the result (used to find heredoc words). */
  rawQuotes?: boolean;
  /** Keep the escape characters in the result. */
  rawEscapes?: boolean;
  /** Leave references to unset variables as written instead of expanding them to "". */
  skipUnsetEnv?: boolean;
  /** Quotes are plain characters (a heredoc body: only $ and the escape token mean something). */
  skipProcessQuotes?: boolean;
}

export interface WordResult {
  /** The expanded text, spaces between words kept. */
  result: string;
  /** The expanded text split into words (quotes and escapes protect spaces). */
  words: string[];
  /** Variable names that were looked up and found / not found. */
  matched: Set<string>;
  unmatched: Set<string>;
}

const isDigit = (ch: string): boolean => /^\p{Nd}$/u.test(ch);
const isLetter = (ch: string): boolean => /^\p{L}$/u.test(ch);
// POSIX special parameters ($@, $*, $#, $?, $-, $$, $!, $0): one character names.
const isSpecialParam = (ch: string): boolean => '@*#?-$!0'.includes(ch);

class LexError extends Error {}

/** Accumulates words the way Docker's lexer does: unquoted spaces split, quoted ones do not. */
class Words {
  private words: string[] = [];
  private buf = '';
  private inWord = false;

  addChar(ch: string): void {
    if (isSpace(ch)) {
      if (this.inWord && this.buf.length > 0) {
        this.words.push(this.buf);
        this.buf = '';
        this.inWord = false;
      }
    } else {
      this.addRaw(ch);
    }
  }
  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }
  addRaw(s: string): void {
    this.buf += s;
    this.inWord = true;
  }
  done(): string[] {
    if (this.buf.length > 0) this.words.push(this.buf);
    this.buf = '';
    this.inWord = false;
    return this.words;
  }
}

/** One pass over one word: a cursor over its code points plus the lexer's settings. */
class Scan {
  private readonly chars: string[];
  private pos = 0;
  rawEscapes: boolean;
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();

  constructor(
    text: string,
    private readonly env: Env,
    private readonly escape: EscapeToken,
    private readonly opts: LexOptions,
  ) {
    this.chars = Array.from(text);
    this.rawEscapes = opts.rawEscapes ?? false;
  }

  private peek(): string | undefined {
    return this.chars[this.pos];
  }
  private next(): string | undefined {
    return this.chars[this.pos++];
  }

  private lookup(name: string): string | undefined {
    const v = this.env.get(name);
    (v === undefined ? this.unmatched : this.matched).add(name);
    return v;
  }

  /** Reads until `stop` (consumed) or the end; with a stop character, the end is an error. */
  run(stop: string | undefined, rawEscapes: boolean): { result: string; words: string[] } {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      let result = '';
      const words = new Words();
      for (let ch = this.peek(); ch !== undefined; ch = this.peek()) {
        if (stop !== undefined && ch === stop) {
          this.next();
          return { result, words: words.done() };
        }
        if (ch === '$') {
          const v = this.dollar();
          result += v;
          words.addString(v);
          continue;
        }
        if ((ch === "'" || ch === '"') && !this.opts.skipProcessQuotes) {
          const v = ch === "'" ? this.singleQuoted() : this.doubleQuoted();
          result += v;
          words.addRaw(v);
          continue;
        }
        this.next();
        if (ch === this.escape) {
          if (this.rawEscapes) {
            words.addRaw(ch);
            result += ch;
          }
          // The escape token escapes the next character; at the very end it is dropped.
          const escaped = this.next();
          if (escaped === undefined) break;
          words.addRaw(escaped);
          result += escaped;
          continue;
        }
        words.addChar(ch);
        result += ch;
      }
      if (stop !== undefined) throw new LexError(`unexpected end of statement while looking for matching ${stop}`);
      return { result, words: words.done() };
    } finally {
      this.rawEscapes = saved;
    }
  }

  private singleQuoted(): string {
    // Everything up to the next ' is literal; a ' cannot be escaped inside.
    const raw = this.opts.rawQuotes === true;
    let out = raw ? (this.next() as string) : (this.next(), '');
    for (;;) {
      const ch = this.next();
      if (ch === undefined) throw new LexError('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") return raw ? out + ch : out;
      out += ch;
    }
  }

  private doubleQuoted(): string {
    // Literal except $ (expands) and the escape token, which escapes only " $ and itself.
    const raw = this.opts.rawQuotes === true;
    let out = raw ? (this.next() as string) : (this.next(), '');
    for (;;) {
      const p = this.peek();
      if (p === undefined) throw new LexError('unexpected end of statement while looking for matching double-quote');
      if (p === '"') {
        this.next();
        return raw ? out + p : out;
      }
      if (p === '$') {
        out += this.dollar();
        continue;
      }
      let ch = this.next() as string;
      if (ch === this.escape) {
        if (this.rawEscapes) out += ch;
        const after = this.peek();
        if (after === undefined) continue;
        if (after === '"' || after === '$' || after === this.escape) ch = this.next() as string;
      }
      out += ch;
    }
  }

  private name(): string {
    let name = '';
    for (let ch = this.peek(); ch !== undefined; ch = this.peek()) {
      if (name === '' && isDigit(ch)) {
        // $1, $12: positional parameters are all digits.
        while (this.peek() !== undefined && isDigit(this.peek() as string)) name += this.next();
        return name;
      }
      if (name === '' && isSpecialParam(ch)) return this.next() as string;
      if (!isLetter(ch) && !isDigit(ch) && ch !== '_') break;
      name += this.next();
    }
    return name;
  }

  /** Reads the word of a ${NAME<op>word} up to its closing brace. */
  private braceWord(rawEscapes: boolean): string {
    try {
      return this.run('}', rawEscapes).result;
    } catch (err) {
      if (this.peek() === undefined) throw new LexError("syntax error: missing '}'");
      throw err;
    }
  }

  private dollar(): string {
    this.next(); // $
    if (this.peek() !== '{') {
      const name = this.name();
      if (name === '') return '$';
      const value = this.lookup(name);
      if (value === undefined && this.opts.skipUnsetEnv) return `$${name}`;
      return value ?? '';
    }
    this.next(); // {
    const first = this.peek();
    if (first === undefined) throw new LexError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new LexError('syntax error: bad substitution');
    const name = this.name();
    let op = this.next();
    if (op === undefined) throw new LexError("syntax error: missing '}'");
    let ops = op;
    if (op === '}') {
      const value = this.lookup(name);
      if (value === undefined && this.opts.skipUnsetEnv) return `\${${name}}`;
      return value ?? '';
    }
    if (op === '/') return this.replace(name);
    // With ':', an empty value counts as unset (${X:-w} vs ${X-w}).
    let nullIsUnset = false;
    if (op === ':') {
      nullIsUnset = true;
      op = this.next();
      if (op === undefined) throw new LexError("syntax error: missing '}'");
      ops += op;
    }
    if (!'+-?#%'.includes(op)) throw new LexError(`unsupported modifier (${ops}) in substitution`);
    const trims = op === '#' || op === '%';
    if (nullIsUnset && trims) throw new LexError(`unsupported modifier (${ops}) in substitution`);
    let word = this.braceWord(trims);
    const value = this.lookup(name);
    if (value === undefined && this.opts.skipUnsetEnv) return `\${${name}${ops}${word}}`;
    const unset = value === undefined || (nullIsUnset && value === '');
    switch (op) {
      case '-':
        return unset ? word : (value as string);
      case '+':
        return unset ? '' : word;
      case '?':
        if (value === undefined) throw new LexError(`${name}: ${word || 'is not allowed to be unset'}`);
        if (unset) throw new LexError(`${name}: ${word || 'is not allowed to be empty'}`);
        return value;
      default: {
        // # and ## strip the shortest / longest matching prefix, % and %% the suffix.
        let greedy = false;
        if (word.startsWith(op)) {
          greedy = true;
          word = word.slice(op.length);
        }
        return op === '%' ? trimSuffix(word, value ?? '', greedy) : trimPrefix(word, value ?? '', greedy);
      }
    }
  }

  private replace(name: string): string {
    const all = this.peek() === '/';
    if (all) this.next();
    let pattern: string;
    try {
      pattern = this.run('/', true).result;
    } catch (err) {
      if (this.peek() === undefined) throw new LexError("syntax error: missing '/' in ${}");
      throw err;
    }
    const replacement = this.braceWord(true);
    const value = this.lookup(name);
    if (value === undefined && this.opts.skipUnsetEnv) return `\${${name}/${pattern}/${replacement}}`;
    const re = shellPatternToRegExp(pattern, true, false, all);
    return (value ?? '').replace(re, () => replacement);
  }
}

/**
 * Converts a ${VAR#pattern} style pattern (* any string, ? one character, \ escapes) to a
 * regular expression; `greedy` picks the longest rather than the shortest match for *.
 */
function shellPatternToRegExp(pattern: string, greedy: boolean, anchored: boolean, global = false): RegExp {
  const chars = Array.from(pattern);
  let out = anchored ? '^' : '';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    if (ch === '*') out += greedy ? '.*' : '.*?';
    else if (ch === '?') out += '.';
    else if (ch === '\\') {
      const n = chars[i + 1];
      // \} and \/ only protect the braces' own syntax; the backslash is not part of the pattern.
      if (n === '}' || n === '/') continue;
      if (n !== '*' && n !== '?' && n !== '\\') throw new LexError(`invalid pattern (${pattern}) in substitution: invalid escape '\\${n ?? ''}'`);
      out += `\\${n}`;
      i++;
    } else out += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(out, global ? 'gu' : 'u');
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const m = shellPatternToRegExp(pattern, greedy, true).exec(value);
  return m ? value.slice(m[0].length) : value;
}

// Reverses a pattern while keeping each escape pair in order (a\*c -> c\*a).
function reversePattern(pattern: string): string {
  const chars = Array.from(pattern);
  const out: string[] = [];
  for (let i = 0; i < chars.length; ) {
    if (chars[i] === '\\' && i !== chars.length - 1) {
      out.unshift(chars[i] as string, chars[i + 1] as string);
      i += 2;
    } else {
      out.unshift(chars[i] as string);
      i++;
    }
  }
  return out.join('');
}

const reverse = (s: string): string => Array.from(s).reverse().join('');

function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  // The shortest rightmost match is the shortest leftmost match of the reversed strings.
  return reverse(trimPrefix(reversePattern(pattern), reverse(value), greedy));
}

/** Docker's Dockerfile lexer, for one escape token. */
export class ShellLex {
  constructor(
    readonly escapeToken: EscapeToken = '\\',
    private readonly opts: LexOptions = {},
  ) {}

  /** Expands `word` as one word: quotes removed, variables replaced, spaces kept. */
  processWord(word: string, env: Env): string {
    return this.process(word, env).result;
  }

  /** Expands `word` and splits it into words (after expansion, as Docker's EXPOSE does). */
  processWords(word: string, env: Env): string[] {
    return this.process(word, env).words;
  }

  /**
   * Expands `word`, reporting which variables it used. Throws DockerfileError with Docker's
   * message ('failed to process "${X:?}": X: is not allowed to be unset') on a syntax error.
   */
  process(word: string, env: Env): WordResult {
    const scan = new Scan(word, env, this.escapeToken, this.opts);
    try {
      const { result, words } = scan.run(undefined, scan.rawEscapes);
      return { result, words, matched: scan.matched, unmatched: scan.unmatched };
    } catch (err) {
      if (err instanceof LexError) throw new DockerfileError(`failed to process ${JSON.stringify(word)}: ${err.message}`);
      throw err;
    }
  }
}
