// A parser for the subset of Go's text/template that docker --format strings use: text and
// {{actions}} with trim markers, pipelines with |, fields (.A.B), variables ($, $x := …), string,
// number, bool and nil literals, parenthesized pipelines, functions, if/else if/else, range (with
// else, $i, $e :=, break, continue), with/else, and comments.

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

export type Arg =
  | { kind: 'field'; chain: string[] } // .A.B (empty chain = dot)
  | { kind: 'var'; name: string; chain: string[] } // $x.A
  | { kind: 'func'; name: string }
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'nil' }
  | { kind: 'pipe'; pipe: Pipe; chain: string[] }; // (pipeline).A

export interface Cmd {
  args: Arg[];
}

export interface Pipe {
  decl: string[];
  assign: boolean; // $x = … rather than $x := …
  cmds: Cmd[];
}

export type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipe: Pipe }
  | { kind: 'if' | 'with' | 'range'; pipe: Pipe; list: Node[]; elseList: Node[] | undefined }
  | { kind: 'break' | 'continue' };

// ---- lexing of one action's inside

type Tok =
  | { t: 'ident'; v: string }
  | { t: 'field'; v: string[] }
  | { t: 'var'; v: string; chain: string[] }
  | { t: 'string'; v: string }
  | { t: 'number'; v: number }
  | { t: 'pipe' | 'lparen' | 'rparen' | 'declare' | 'assign' | 'comma' }
  | { t: 'chain'; v: string[] }; // .A.B right after a closing parenthesis

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*/;
const FIELD = /^(\.[A-Za-z_][A-Za-z0-9_]*)+/;

function unquote(raw: string): string {
  // Go's interpreted string literals share JSON's escapes except \a \b \f \v \x.. \' and octal
  const fixed = raw.slice(1, -1).replace(/\\(x[0-9a-fA-F]{2}|[0-7]{3}|a|v|')/g, (_m, e: string) => {
    if (e === 'a') return '\\u0007';
    if (e === 'v') return '\\u000b';
    if (e === "'") return "'";
    const code = e.startsWith('x') ? parseInt(e.slice(1), 16) : parseInt(e, 8);
    return `\\u${code.toString(16).padStart(4, '0')}`;
  });
  try {
    return JSON.parse(`"${fixed}"`) as string;
  } catch {
    throw new TemplateError(`malformed string literal ${raw}`);
  }
}

function lexAction(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const rest = src.slice(i);
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '|') { toks.push({ t: 'pipe' }); i++; continue; }
    if (c === '(') { toks.push({ t: 'lparen' }); i++; continue; }
    if (c === ',') { toks.push({ t: 'comma' }); i++; continue; }
    if (c === ')') {
      toks.push({ t: 'rparen' });
      i++;
      const m = FIELD.exec(src.slice(i));
      if (m) {
        toks.push({ t: 'chain', v: m[0].slice(1).split('.') });
        i += m[0].length;
      }
      continue;
    }
    if (rest.startsWith(':=')) { toks.push({ t: 'declare' }); i += 2; continue; }
    if (c === '=') { toks.push({ t: 'assign' }); i++; continue; }
    if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      if (j >= src.length) throw new TemplateError('unterminated quoted string');
      toks.push({ t: 'string', v: unquote(src.slice(i, j + 1)) });
      i = j + 1;
      continue;
    }
    if (c === '`') {
      const j = src.indexOf('`', i + 1);
      if (j < 0) throw new TemplateError('unterminated raw quoted string');
      toks.push({ t: 'string', v: src.slice(i + 1, j) });
      i = j + 1;
      continue;
    }
    if (c === '.') {
      const m = FIELD.exec(rest);
      if (m) {
        toks.push({ t: 'field', v: m[0].slice(1).split('.') });
        i += m[0].length;
      } else {
        toks.push({ t: 'field', v: [] });
        i++;
      }
      continue;
    }
    if (c === '$') {
      const m = /^\$[A-Za-z0-9_]*/.exec(rest)!;
      i += m[0].length;
      const f = FIELD.exec(src.slice(i));
      const chain = f ? f[0].slice(1).split('.') : [];
      if (f) i += f[0].length;
      toks.push({ t: 'var', v: m[0], chain });
      continue;
    }
    const num = /^[-+]?(0[xX][0-9a-fA-F]+|\d+(\.\d*)?([eE][-+]?\d+)?|\.\d+)/.exec(rest);
    if (num && (c !== '-' && c !== '+' || /\d|\./.test(src[i + 1] ?? ''))) {
      toks.push({ t: 'number', v: Number(num[0]) });
      i += num[0].length;
      continue;
    }
    const id = IDENT.exec(rest);
    if (id) {
      toks.push({ t: 'ident', v: id[0] });
      i += id[0].length;
      continue;
    }
    if (c === "'") {
      const m = /^'(\\.|[^'])'/.exec(rest);
      if (!m) throw new TemplateError(`malformed character constant ${rest.slice(0, 4)}`);
      const ch = m[1]!.startsWith('\\') ? unquote(`"${m[1]}"`) : m[1]!;
      toks.push({ t: 'number', v: ch.codePointAt(0)! });
      i += m[0].length;
      continue;
    }
    throw new TemplateError(`unexpected "${c}" in command`);
  }
  return toks;
}

// ---- parsing

class TokReader {
  i = 0;
  constructor(readonly toks: Tok[]) {}
  peek(): Tok | undefined {
    return this.toks[this.i];
  }
  next(): Tok | undefined {
    return this.toks[this.i++];
  }
}

function parsePipe(r: TokReader, allowDecl: boolean, inParens: boolean): Pipe {
  const pipe: Pipe = { decl: [], assign: false, cmds: [] };
  // declarations: $x := …, $i, $e := …, $x = …
  if (allowDecl && r.peek()?.t === 'var') {
    const save = r.i;
    const names: string[] = [];
    while (r.peek()?.t === 'var' && (r.peek() as { chain: string[] }).chain.length === 0) {
      names.push((r.next() as { v: string }).v);
      if (r.peek()?.t === 'comma') r.next();
      else break;
    }
    const op = r.peek()?.t;
    if (names.length && (op === 'declare' || op === 'assign')) {
      r.next();
      pipe.decl = names;
      pipe.assign = op === 'assign';
    } else {
      r.i = save;
    }
  }
  let cmd: Cmd = { args: [] };
  for (;;) {
    const tok = r.peek();
    if (!tok || tok.t === 'rparen') {
      if (tok && !inParens) throw new TemplateError('unexpected ")" in operand');
      if (!tok && inParens) throw new TemplateError('unclosed left paren');
      break;
    }
    r.next();
    switch (tok.t) {
      case 'pipe':
        if (!cmd.args.length) throw new TemplateError('missing command before |');
        pipe.cmds.push(cmd);
        cmd = { args: [] };
        continue;
      case 'field':
        cmd.args.push({ kind: 'field', chain: tok.v });
        break;
      case 'var':
        cmd.args.push({ kind: 'var', name: tok.v, chain: tok.chain });
        break;
      case 'string':
        cmd.args.push({ kind: 'string', value: tok.v });
        break;
      case 'number':
        cmd.args.push({ kind: 'number', value: tok.v });
        break;
      case 'ident':
        if (tok.v === 'true' || tok.v === 'false') cmd.args.push({ kind: 'bool', value: tok.v === 'true' });
        else if (tok.v === 'nil') cmd.args.push({ kind: 'nil' });
        else cmd.args.push({ kind: 'func', name: tok.v });
        break;
      case 'lparen': {
        const inner = parsePipe(r, false, true);
        if (r.next()?.t !== 'rparen') throw new TemplateError('unclosed left paren');
        let chain: string[] = [];
        if (r.peek()?.t === 'chain') chain = (r.next() as { v: string[] }).v;
        cmd.args.push({ kind: 'pipe', pipe: inner, chain });
        break;
      }
      default:
        throw new TemplateError(`unexpected ${tok.t === 'comma' ? '","' : tok.t === 'declare' ? '":="' : tok.t === 'assign' ? '"="' : tok.t} in command`);
    }
  }
  if (cmd.args.length) pipe.cmds.push(cmd);
  else if (pipe.cmds.length) throw new TemplateError('missing command after |');
  if (!pipe.cmds.length) throw new TemplateError('missing value for command');
  return pipe;
}

interface RawAction {
  kind: 'text' | 'action';
  text: string;
}

/** Splits the template into text and action bodies, applying {{- and -}} trimming. */
function split(src: string): RawAction[] {
  const out: RawAction[] = [];
  let i = 0;
  let trimNext = false;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    let text = open < 0 ? src.slice(i) : src.slice(i, open);
    if (trimNext) text = text.replace(/^\s+/, '');
    trimNext = false;
    if (open < 0) {
      if (text) out.push({ kind: 'text', text });
      break;
    }
    let start = open + 2;
    if (/^- /.test(src.slice(start)) || /^-[\t\r\n]/.test(src.slice(start))) {
      text = text.replace(/\s+$/, '');
      start += 1;
    }
    if (text) out.push({ kind: 'text', text });
    // find the closing }} outside quotes and comments
    let j = start;
    let close = -1;
    while (j < src.length) {
      const c = src[j]!;
      if (c === '"') {
        j++;
        while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
        j++;
        continue;
      }
      if (c === '`') {
        const e = src.indexOf('`', j + 1);
        j = e < 0 ? src.length : e + 1;
        continue;
      }
      if (src.startsWith('/*', j)) {
        const e = src.indexOf('*/', j + 2);
        if (e < 0) throw new TemplateError('unclosed comment');
        j = e + 2;
        continue;
      }
      if (src.startsWith('}}', j)) {
        close = j;
        break;
      }
      j++;
    }
    if (close < 0) throw new TemplateError('unclosed action');
    let body = src.slice(start, close);
    if (/[ \t\r\n]-$/.test(body)) {
      body = body.slice(0, -1);
      trimNext = true;
    }
    out.push({ kind: 'action', text: body });
    i = close + 2;
  }
  return out;
}

export function parseTemplate(src: string): Node[] {
  const raw = split(src);
  let pos = 0;
  let rangeDepth = 0;

  // parses nodes until one of `stops` (an {{end}} or {{else…}}); returns the list and the stop
  function parseList(stops: boolean): { list: Node[]; stop?: { word: string; rest: Tok[] } } {
    const list: Node[] = [];
    while (pos < raw.length) {
      const item = raw[pos++]!;
      if (item.kind === 'text') {
        list.push({ kind: 'text', text: item.text });
        continue;
      }
      const body = item.text.trim();
      if (body.startsWith('/*')) {
        if (!body.endsWith('*/')) throw new TemplateError('comment ends before closing delimiter');
        continue;
      }
      const toks = lexAction(item.text);
      if (!toks.length) throw new TemplateError('missing value for command');
      const first = toks[0]!;
      const word = first.t === 'ident' ? first.v : '';
      if (word === 'end' || word === 'else') {
        if (!stops) throw new TemplateError(`unexpected {{${word}}}`);
        return { list, stop: { word, rest: toks.slice(1) } };
      }
      if (word === 'if' || word === 'with' || word === 'range') {
        list.push(parseControl(word, toks.slice(1)));
        continue;
      }
      if (word === 'break' || word === 'continue') {
        if (rangeDepth === 0) throw new TemplateError(`{{${word}}} outside {{range}}`);
        list.push({ kind: word });
        continue;
      }
      if (word === 'define' || word === 'template' || word === 'block') throw new TemplateError(`{{${word}}} is not supported`);
      const r = new TokReader(toks);
      list.push({ kind: 'action', pipe: parsePipe(r, true, false) });
    }
    if (stops) throw new TemplateError('unexpected EOF');
    return { list };
  }

  function parseControl(kind: 'if' | 'with' | 'range', toks: Tok[]): Node {
    const r = new TokReader(toks);
    if (!toks.length) throw new TemplateError(`missing value for ${kind}`);
    const pipe = parsePipe(r, true, false);
    if (kind === 'range') rangeDepth++;
    const body = parseList(true);
    if (kind === 'range') rangeDepth--;
    let elseList: Node[] | undefined;
    if (body.stop!.word === 'else') {
      const rest = body.stop!.rest;
      const chained = rest[0]?.t === 'ident' && (rest[0].v === 'if' || rest[0].v === 'with') ? rest[0].v : undefined;
      if (chained) {
        // {{else if …}}: an if nested in the else branch, sharing this one's {{end}}
        elseList = [parseControl(chained as 'if' | 'with', rest.slice(1))];
      } else {
        if (rest.length) throw new TemplateError('unexpected tokens after else');
        const tail = parseList(true);
        if (tail.stop!.word !== 'end') throw new TemplateError('expected end; found else');
        elseList = tail.list;
      }
    } else if (body.stop!.rest.length) {
      throw new TemplateError('unexpected tokens after end');
    }
    return { kind, pipe, list: body.list, elseList };
  }

  return parseList(false).list;
}
