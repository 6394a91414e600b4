// The Dockerfile parser: text to a list of nodes, one per instruction, with the rules of Docker's
// parser (buildkit frontend/dockerfile/parser): parser directives at the top, comments, line
// continuations with the escape token (comment lines and blank lines inside a continuation are
// skipped), case-insensitive keywords, leading --flags, exec (JSON) vs shell form, and per-keyword
// argument splitting. It does not know what instructions mean: instructions.ts does.
import { DockerfileError } from './errors.js';
import { endsHeredoc, heredocsInLine, type Heredoc } from './heredoc.js';
import { isSpace, trimLeftSpace, trimSpace, type EscapeToken } from './shell-lex.js';

export type { EscapeToken } from './shell-lex.js';

export interface KeyValue {
  key: string;
  /** Source text of the value (quotes and variables not yet processed). */
  value: string;
}

/** One instruction as written. Arguments are source text: expansion happens later. */
export interface Node {
  /** The keyword as written ("run", "Run"). */
  keyword: string;
  /** The keyword lower-cased ("run"); unknown keywords are kept (instructions.ts refuses them). */
  command: string;
  /** Leading `--name[=value]` words, quotes removed ("--from=build"). */
  flags: string[];
  /**
   * Arguments as Docker's parser splits them for this keyword: the whole rest for RUN/CMD/
   * ENTRYPOINT/SHELL in shell form and for USER/WORKDIR/STOPSIGNAL/MAINTAINER; the JSON strings
   * in exec form; whitespace-separated words for FROM/EXPOSE/COPY/ADD/VOLUME; quote-aware words
   * for ARG; [type, ...command] for HEALTHCHECK; for ONBUILD [keyword, ...args] of the trigger.
   */
  args: string[];
  /** ENV and LABEL: the name/value pairs, in order. `legacy` is the `ENV name value` form. */
  pairs?: KeyValue[];
  legacy?: boolean;
  /** Arguments were a JSON array of strings (exec form). */
  json: boolean;
  /** ONBUILD: the wrapped instruction. */
  sub?: Node;
  /** The heredocs the instruction opens, with their bodies (RUN, COPY, ADD; also under ONBUILD). */
  heredocs: Heredoc[];
  /** The logical line (continuations joined) the node was parsed from. */
  original: string;
  /** 1-based first and last physical line of the instruction. */
  startLine: number;
  endLine: number;
  /** Comment lines directly above the instruction, '#' removed. */
  comments: string[];
}

export interface ParseWarning {
  line: number;
  message: string;
}

export interface Directives {
  escape: EscapeToken;
  /** `# syntax=` is recorded and otherwise ignored (the classic builder has no frontends). */
  syntax?: string;
  check?: string;
}

export interface ParseResult {
  nodes: Node[];
  escapeToken: EscapeToken;
  directives: Directives;
  /** Non-fatal findings (empty continuation lines), to print before building. */
  warnings: ParseWarning[];
}

/** Keywords Docker knows, lower case. */
export const KEYWORDS = [
  'add', 'arg', 'cmd', 'copy', 'entrypoint', 'env', 'expose', 'from', 'healthcheck', 'label',
  'maintainer', 'onbuild', 'run', 'shell', 'stopsignal', 'user', 'volume', 'workdir',
] as const;

// Go's regexp \s and the whitespace Docker splits keywords and lists on.
const WHITESPACE = /[\t\v\f\r ]+/;
const DIRECTIVE = /^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$/;
const KNOWN_DIRECTIVES = new Set(['syntax', 'escape', 'check']);
const HEREDOC_COMMANDS = new Set(['run', 'copy', 'add']);

const trimLeft = trimLeftSpace;
const isComment = (line: string): boolean => trimLeft(line).startsWith('#');

/** Splits `s` at its first run of whitespace into at most two parts (Go's Split(s, 2)). */
function splitTwo(s: string): string[] {
  const m = WHITESPACE.exec(s);
  return m ? [s.slice(0, m.index), s.slice(m.index + m[0].length)] : [s];
}

/** Parser directives: `# name=value` lines before anything else; each known one at most once. */
class DirectiveReader {
  private done = false;
  private readonly seen = new Set<string>();

  read(line: string): { name: string; value: string } | undefined {
    if (this.done) return undefined;
    if (!line.startsWith('#')) {
      this.done = true;
      return undefined;
    }
    const m = DIRECTIVE.exec(trimLeft(line.slice(1)));
    const name = m?.[1]?.toLowerCase();
    if (!m || name === undefined || !KNOWN_DIRECTIVES.has(name)) {
      this.done = true;
      return undefined;
    }
    if (this.seen.has(name)) throw new Error(`only one ${name} parser directive can be used`);
    this.seen.add(name);
    return { name, value: m[2] as string };
  }
}

/**
 * Removes a trailing escape token (a line continuation) from `line`. The token continues the line
 * when it is the last non-blank character and not itself escaped (Docker's regular expression,
 * which also does not see "\\\" as a continuation).
 */
function trimContinuation(line: string, escape: EscapeToken): { text: string; continues: boolean } {
  const m = /[ \t]*$/.exec(line) as RegExpExecArray;
  const body = line.slice(0, m.index);
  if (!body.endsWith(escape)) return { text: line, continues: false };
  if (body.length === 1) return { text: '', continues: true };
  if (body[body.length - 2] === escape) return { text: line, continues: false };
  return { text: body.slice(0, -1), continues: true };
}

/** Parses a whole Dockerfile. Throws DockerfileError naming the line on a syntax error. */
export function parse(text: string): ParseResult {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length > 0) lines[0] = (lines[0] as string).replace(/^\uFEFF/, '');
  const physical = (i: number): string => (lines[i] as string).replace(/[\r\n]+$/, '');

  const reader = new DirectiveReader();
  const directives: Directives = { escape: '\\' };
  const nodes: Node[] = [];
  const warnings: ParseWarning[] = [];
  let comments: string[] = [];

  for (let i = 0; i < lines.length; ) {
    const lineNo = i + 1;
    const raw = physical(i);
    i++;
    if (isComment(raw)) {
      const c = trimSpace(trimLeft(raw).slice(1));
      if (c === '') comments = [];
      else comments.push(c);
    }
    const token = trimLeft(raw);
    let directive: { name: string; value: string } | undefined;
    try {
      directive = reader.read(token);
      if (directive?.name === 'escape') {
        if (directive.value !== '\\' && directive.value !== '`') {
          throw new Error(`invalid escape token '${directive.value}' does not match \` or \\`);
        }
        directives.escape = directive.value;
      } else if (directive?.name === 'syntax') directives.syntax = directive.value;
      else if (directive?.name === 'check') directives.check = directive.value;
    } catch (err) {
      throw new DockerfileError((err as Error).message, lineNo);
    }
    if (directive) comments.pop();

    const startLine = lineNo;
    let { text: logical, continues } = trimContinuation(isComment(token) ? '' : token, directives.escape);
    if (!continues && logical === '') continue;

    let emptyContinuation = false;
    while (continues && i < lines.length) {
      const next = physical(i);
      i++;
      if (isComment(next)) continue; // comment lines inside a continuation are dropped
      if (trimLeft(next) === '') {
        emptyContinuation = true; // Docker warns: these will become errors
        continue;
      }
      const part = trimContinuation(next, directives.escape);
      logical += part.text;
      continues = part.continues;
    }
    const endLine = i;
    if (emptyContinuation) warnings.push({ line: endLine, message: `Empty continuation line found in: ${logical}` });

    let node: Node;
    try {
      node = nodeFromLine(logical, directives.escape, comments);
    } catch (err) {
      throw new DockerfileError((err as Error).message, startLine, endLine);
    }
    // Heredoc bodies follow the instruction's (continued) line, one after the other.
    if (canContainHeredoc(node) && logical.includes('<<')) {
      let opened;
      try {
        opened = heredocsInLine(logical);
      } catch (err) {
        throw new DockerfileError((err as Error).message, startLine, endLine);
      }
      for (const doc of opened) {
        let content = '';
        let terminated = false;
        while (i < lines.length) {
          const line = lines[i] as string;
          i++;
          if (endsHeredoc(line, doc)) {
            terminated = true;
            break;
          }
          content += `${line}\n`;
        }
        if (!terminated) throw new DockerfileError('unterminated heredoc', startLine, i);
        node.heredocs.push({ ...doc, content });
      }
    }
    node.startLine = startLine;
    node.endLine = i;
    nodes.push(node);
    comments = [];
  }
  if (nodes.length === 0) throw new DockerfileError('file with no instructions', Math.max(lines.length, 1));
  return { nodes, escapeToken: directives.escape, directives, warnings };
}

/** The lines Docker prints for the parse warnings (empty when there are none). */
export function warningLines(warnings: readonly ParseWarning[]): string[] {
  if (warnings.length === 0) return [];
  return [
    ...warnings.map((w) => `[WARNING]: ${w.message}`),
    '[WARNING]: Empty continuation lines will become errors in a future release.',
  ];
}

function nodeFromLine(line: string, escape: EscapeToken, comments: string[]): Node {
  const [keyword = '', rest = ''] = splitTwo(trimSpace(line));
  const { flags, rest: after } = extractFlags(rest, escape);
  const command = keyword.toLowerCase();
  const node: Node = {
    keyword,
    command,
    flags,
    args: [],
    json: false,
    original: line,
    startLine: 0,
    endLine: 0,
    comments: [...comments],
    heredocs: [],
  };
  Object.assign(node, parseArguments(command, trimSpace(after), escape));
  return node;
}

type Parsed = Pick<Node, 'args' | 'json'> & Partial<Pick<Node, 'pairs' | 'legacy' | 'sub'>>;

function parseArguments(command: string, rest: string, escape: EscapeToken): Parsed {
  switch (command) {
    case 'add':
    case 'copy':
    case 'volume':
      return maybeJSONToList(rest);
    case 'arg':
      return { args: parseWords(rest, escape), json: false };
    case 'cmd':
    case 'entrypoint':
    case 'run':
    case 'shell':
      return maybeJSON(rest);
    case 'env':
    case 'label':
      return nameValues(rest, command.toUpperCase(), escape);
    case 'expose':
    case 'from':
      return { args: whitespaceList(rest), json: false };
    case 'healthcheck':
      return healthcheck(rest);
    case 'maintainer':
    case 'stopsignal':
    case 'user':
    case 'workdir':
      return { args: rest === '' ? [] : [rest], json: false };
    case 'onbuild': {
      if (rest === '') return { args: [], json: false };
      const sub = nodeFromLine(rest, escape, []);
      return { args: [sub.keyword, ...sub.args], json: sub.json, sub };
    }
    default:
      return { args: [], json: false }; // unknown: refused by instructions.ts with its line
  }
}

/**
 * Splits the leading `--flag[=value]` words off an instruction's arguments. Quotes group, the
 * escape token escapes, a lone `--` ends the flags.
 */
function extractFlags(line: string, escape: EscapeToken): { flags: string[]; rest: string } {
  const flags: string[] = [];
  let phase: 'space' | 'word' | 'quote' = 'space';
  let word = '';
  let quote = '';
  let blankOK = false;
  for (let pos = 0; pos <= line.length; pos++) {
    let ch = line[pos] ?? '';
    if (phase === 'space') {
      if (pos === line.length) break;
      if (isSpace(ch)) continue;
      if (ch !== '-' || line[pos + 1] !== '-') return { flags, rest: line.slice(pos) };
      phase = 'word';
    }
    if (pos === line.length) {
      if (word !== '--' && (blankOK || word.length > 0)) flags.push(word);
      break;
    }
    if (phase === 'word') {
      if (isSpace(ch)) {
        phase = 'space';
        if (word === '--') return { flags, rest: line.slice(pos) };
        if (blankOK || word.length > 0) flags.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
        continue;
      }
      if (ch === escape) {
        if (pos + 1 === line.length) continue;
        ch = line[++pos] as string;
      }
      word += ch;
      continue;
    }
    // in quotes
    if (ch === quote) {
      phase = 'word';
      continue;
    }
    if (ch === escape) {
      if (pos + 1 === line.length) {
        phase = 'word';
        continue;
      }
      ch = line[++pos] as string;
    }
    word += ch;
  }
  return { flags, rest: '' };
}

/**
 * Quote-aware words, keeping the quotes and escapes in the words (they are removed when the
 * words are expanded). Used for ARG, ENV and LABEL.
 */
export function parseWords(rest: string, escape: EscapeToken): string[] {
  const chars = Array.from(rest);
  const words: string[] = [];
  let phase: 'space' | 'word' | 'quote' = 'space';
  let quote = '';
  let blankOK = false;
  let word = '';
  for (let pos = 0; pos <= chars.length; pos++) {
    let ch = chars[pos] ?? '';
    if (phase === 'space') {
      if (pos === chars.length) break;
      if (isSpace(ch)) continue;
      phase = 'word';
    }
    if (pos === chars.length) {
      if (blankOK || word.length > 0) words.push(word);
      break;
    }
    if (phase === 'word') {
      if (isSpace(ch)) {
        phase = 'space';
        if (blankOK || word.length > 0) words.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
      }
      if (ch === escape) {
        if (pos + 1 === chars.length) continue; // an escape token at the very end is dropped
        // Unquoted, the escape token and the character it escapes are both kept.
        word += ch;
        ch = chars[++pos] as string;
      }
      word += ch;
      continue;
    }
    // in quotes; the escape token means nothing inside single quotes
    if (ch === quote) phase = 'word';
    if (ch === escape && quote !== "'") {
      if (pos + 1 === chars.length) {
        phase = 'word';
        continue;
      }
      word += ch;
      ch = chars[++pos] as string;
    }
    word += ch;
  }
  return words;
}

const NOT_STRINGS = 'when using JSON array syntax, arrays must be comprised of strings only';

/** The strings of a JSON array, undefined when `rest` is not one; throws for non-string items. */
function parseJSON(rest: string): string[] | undefined {
  const text = trimLeft(rest);
  if (!text.startsWith('[')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  if (!value.every((v) => typeof v === 'string')) throw new Error(NOT_STRINGS);
  return value as string[];
}

function maybeJSON(rest: string): Parsed {
  if (rest === '') return { args: [], json: false };
  const list = parseJSON(rest);
  return list ? { args: list, json: true } : { args: [rest], json: false };
}

function maybeJSONToList(rest: string): Parsed {
  const list = parseJSON(rest);
  return list ? { args: list, json: true } : { args: whitespaceList(rest), json: false };
}

const whitespaceList = (rest: string): string[] => (rest === '' ? [] : rest.split(WHITESPACE));

function nameValues(rest: string, keyword: string, escape: EscapeToken): Parsed {
  const words = parseWords(rest, escape);
  if (words.length === 0) return { args: [], pairs: [], json: false };
  // `ENV name value...` (legacy: one pair, the value is the rest of the line) vs `ENV a=1 b=2`.
  if (!(words[0] as string).includes('=')) {
    const parts = splitTwo(rest);
    if (parts.length < 2) throw new Error(`${keyword} must have two arguments`);
    const pair = { key: parts[0] as string, value: parts[1] as string };
    return { args: [pair.key, pair.value], pairs: [pair], legacy: true, json: false };
  }
  const pairs = words.map((word) => {
    const eq = word.indexOf('=');
    if (eq < 0) throw new Error(`Syntax error - can't find = in ${JSON.stringify(word)}. Must be of the form: name=value`);
    return { key: word.slice(0, eq), value: word.slice(eq + 1) };
  });
  return { args: pairs.flatMap((p) => [p.key, p.value]), pairs, legacy: false, json: false };
}

function healthcheck(rest: string): Parsed {
  const chars = Array.from(rest);
  let sep = 0;
  while (sep < chars.length && !isSpace(chars[sep] as string)) sep++;
  let next = sep;
  while (next < chars.length && isSpace(chars[next] as string)) next++;
  if (sep === 0) return { args: [], json: false };
  const cmd = maybeJSON(chars.slice(next).join(''));
  return { args: [chars.slice(0, sep).join(''), ...cmd.args], json: cmd.json };
}

/** RUN, COPY and ADD in shell form (also as an ONBUILD trigger) may open heredocs. */
function canContainHeredoc(node: Node): boolean {
  const target = node.command === 'onbuild' && node.sub ? node.sub : node;
  return HEREDOC_COMMANDS.has(target.command) && !target.json;
}
