// containerd's filter syntax, used by every List call: selectors joined by "," must all match;
// several filter strings match when any does. A selector is a field path (fields joined by ".",
// a field quoted with "..." when it has other characters: labels."io.x/y"), optionally an
// operator ("==", "!=", "~=" a regular expression) and a value (bare up to "," or space, or
// quoted; "~=" also takes /…/ and |…| quotes). A field path alone tests presence.
import { invalid } from '../common/errors.js';

/** An object's fields as a filter sees them: the value at a path, or undefined when absent. */
export type Adaptor = (fieldpath: string[]) => string | undefined;
export type Filter = (adaptor: Adaptor) => boolean;

type Op = '?' | '==' | '!=' | '~=';
interface Selector {
  path: string[];
  op: Op;
  value: string;
  re?: RegExp;
}

/** Parses filter strings: the result matches when any of them does (all when there are none). */
export function parseFilters(filters: readonly string[]): Filter {
  const parsed = filters.filter((f) => f !== '').map(parseOne);
  if (parsed.length < filters.length || parsed.length === 0) return () => true;
  return (a) => parsed.some((selectors) => selectors.every((s) => matches(s, a)));
}

function matches(s: Selector, a: Adaptor): boolean {
  const value = a(s.path);
  switch (s.op) {
    case '?': return value !== undefined;
    case '==': return value !== undefined && value === s.value;
    case '!=': return (value ?? '') !== s.value;
    case '~=': return s.re!.test(value ?? '');
  }
}

const isField = (c: string) => /^[A-Za-z0-9_]$/.test(c);
const isSpace = (c: string) => /^\s$/u.test(c);
const QUOTES = '"/|';

class Parser {
  private pos = 0;
  constructor(private readonly input: string) {}

  fail(at: number, msg: string): never {
    const i = this.input;
    const where = at < i.length ? `[${i.slice(0, at)} >|${i[at]}|< ${i.slice(at + 1)}]` : `[${i}]`;
    throw invalid(`filters: parse error: ${where}: ${msg}`);
  }

  private skipSpace(): void {
    while (this.pos < this.input.length && isSpace(this.input[this.pos]!)) this.pos++;
  }

  peek(): string | undefined {
    this.skipSpace();
    return this.input[this.pos];
  }

  /** A quoted string starting at pos (the quote char included), unquoted. */
  private quoted(allowAlt: boolean): string {
    const start = this.pos;
    const q = this.input[this.pos]!;
    if (!allowAlt && q !== '"') this.fail(start, 'invalid quote encountered');
    let out = '';
    for (this.pos++; ; ) {
      const c = this.input[this.pos];
      if (c === undefined || c === '\n') this.fail(start, 'quoted literal not terminated');
      this.pos++;
      if (c === q) return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      out += this.escape(start, q);
    }
  }

  private escape(start: number, q: string): string {
    const c = this.input[this.pos++];
    const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };
    if (c !== undefined && c in simple) return simple[c]!;
    if (c === q) return q;
    const digits = (n: number, base: number) => {
      const s = this.input.slice(this.pos, this.pos + n);
      const re = base === 8 ? /^[0-7]+$/ : /^[0-9a-fA-F]+$/;
      if (s.length < n || !re.test(s)) this.fail(start, 'illegal numeric escape sequence');
      this.pos += n;
      return String.fromCodePoint(parseInt(s, base));
    };
    if (c !== undefined && c >= '0' && c <= '7') {
      this.pos--;
      return digits(3, 8);
    }
    if (c === 'x') return digits(2, 16);
    if (c === 'u') return digits(4, 16);
    if (c === 'U') return digits(8, 16);
    return this.fail(start, 'illegal escape sequence');
  }

  field(): string {
    const c = this.peek();
    if (c === '"') return this.quoted(false);
    if (c === undefined || !isField(c)) return this.fail(this.pos, 'expected field or quoted');
    const start = this.pos;
    while (this.pos < this.input.length && isField(this.input[this.pos]!)) this.pos++;
    return this.input.slice(start, this.pos);
  }

  operator(): Op {
    this.skipSpace();
    const start = this.pos;
    while (this.pos < this.input.length && '=!~'.includes(this.input[this.pos]!)) this.pos++;
    const op = this.input.slice(start, this.pos);
    if (op === '==' || op === '!=' || op === '~=') return op;
    return this.fail(start, op ? `unsupported operator "${op}"` : 'expected an operator ("=="|"!="|"~=")');
  }

  value(op: Op): string {
    const c = this.peek();
    if (c === undefined) return this.fail(this.pos, 'unexpected end of input: expected value or quoted');
    if (QUOTES.includes(c)) return this.quoted(op === '~=');
    if (c === ',' || c === '.' || '=!~'.includes(c)) return this.fail(this.pos, 'expected value or quoted');
    const start = this.pos;
    while (this.pos < this.input.length && this.input[this.pos] !== ',' && !isSpace(this.input[this.pos]!)) this.pos++;
    return this.input.slice(start, this.pos);
  }

  selector(): Selector {
    const path = [this.field()];
    while (this.peek() === '.') {
      this.pos++;
      path.push(this.field());
    }
    const next = this.peek();
    if (next === undefined || next === ',') return { path, op: '?', value: '' };
    const op = this.operator();
    const value = this.value(op);
    let re: RegExp | undefined;
    if (op === '~=') {
      try {
        re = new RegExp(value);
      } catch (err) {
        this.fail(this.pos - 1, `invalid regular expression: ${(err as Error).message}`);
      }
    }
    return { path, op, value, re };
  }

  parse(): Selector[] {
    const out = [this.selector()];
    for (let c = this.peek(); c !== undefined; c = this.peek()) {
      if (c !== ',') this.fail(this.pos, `unexpected input: ${c}`);
      this.pos++;
      out.push(this.selector());
    }
    return out;
  }
}

function parseOne(filter: string): Selector[] {
  return new Parser(filter).parse();
}

/** A label map as filters see it: "labels.a.b" is the label "a.b". */
export function labelField(labels: Record<string, string> | undefined, rest: string[]): string | undefined {
  if (!labels || rest.length === 0) return undefined;
  const key = rest.join('.');
  return Object.prototype.hasOwnProperty.call(labels, key) ? labels[key] : undefined;
}
