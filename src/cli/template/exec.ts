// Executes parsed templates with Go's semantics where docker --format users meet them: fields of
// objects (and zero-argument or argument-taking methods, for the CLI's row contexts), fmt.Sprint
// printing ("<no value>", "<nil>", [a b], map[k:v]), truth, pipelines that pass the value as the
// last argument, variables and their scopes, and the builtin functions.
import { parseTemplate, TemplateError, type Arg, type Cmd, type Node, type Pipe } from './parse.js';

export { TemplateError };

export type TemplateFunc = (...args: unknown[]) => unknown;

class Break {}
class Continue {}

/** Objects whose keys are all capitalized print like Go structs ({a b}); others like maps. */
function isStructLike(o: object): boolean {
  const keys = Object.keys(o);
  return keys.length > 0 && keys.every((k) => /^[A-Z]/.test(k));
}

export function formatNumber(n: number): string {
  if (Number.isInteger(n)) return Math.abs(n) < 1e21 ? n.toFixed(0) : String(n);
  // Go's %v of a float64: shortest repr, exponent from 1e21 up or below 1e-4
  const abs = Math.abs(n);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e21)) return n.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  return String(n);
}

/** fmt.Sprint of one value. */
export function sprint(v: unknown, top = true): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v === 'function') return sprint(v(), top);
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return `[${v.map((x) => sprint(x, false)).join(' ')}]`;
  if (typeof v === 'object') {
    if (isStructLike(v)) return `{${Object.values(v).map((x) => (x === undefined ? '<nil>' : sprint(x, false))).join(' ')}}`;
    const keys = Object.keys(v).sort();
    return `map[${keys.map((k) => `${k}:${sprint((v as Record<string, unknown>)[k], false)}`).join(' ')}]`;
  }
  return String(v);
}

export function truth(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'function') return true;
  if (typeof v === 'object') return Object.keys(v).length > 0 || v.constructor !== Object;
  return true;
}

function typeName(v: unknown): string {
  if (v === null || v === undefined) return 'interface {}';
  if (Array.isArray(v)) return '[]interface {}';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (typeof v === 'boolean') return 'bool';
  return 'map[string]interface {}';
}

function field(receiver: unknown, name: string, args: unknown[], last: boolean): unknown {
  if (receiver === null || receiver === undefined) throw new TemplateError(`nil pointer evaluating interface {}.${name}`);
  if (typeof receiver !== 'object' || Array.isArray(receiver)) throw new TemplateError(`can't evaluate field ${name} in type ${typeName(receiver)}`);
  const value = (receiver as Record<string, unknown>)[name];
  if (typeof value === 'function') return (value as TemplateFunc).apply(receiver, last ? args : []);
  if (last && args.length) throw new TemplateError(`${name} has arguments but cannot be invoked as function`);
  return value;
}

function compare(a: unknown, b: unknown, op: string): boolean {
  const norm = (x: unknown) => (typeof x === 'function' ? (x as TemplateFunc)() : x);
  a = norm(a);
  b = norm(b);
  if (op === 'eq') {
    if (typeof a === 'object' && a !== null || typeof b === 'object' && b !== null) {
      if (a === null || b === null || a === undefined || b === undefined) return a === b;
      throw new TemplateError('error calling eq: non-comparable types');
    }
    return a === b;
  }
  if (typeof a !== typeof b || (typeof a !== 'number' && typeof a !== 'string')) throw new TemplateError(`error calling ${op}: incompatible types for comparison`);
  const x = a as number | string;
  const y = b as number | string;
  switch (op) {
    case 'lt': return x < y;
    case 'le': return x <= y;
    case 'gt': return x > y;
    default: return x >= y;
  }
}

function goQuote(s: string): string {
  return JSON.stringify(s).replace(/\\u([0-9a-f]{4})/g, (m, h: string) => (parseInt(h, 16) < 0x20 || parseInt(h, 16) === 0x7f ? `\\x${h.slice(2)}` : m));
}

/** fmt.Sprintf for the verbs templates use: %s %v %d %q %f %g %e %x %X %o %b %t %c %%, flags and width. */
export function sprintf(format: string, ...args: unknown[]): string {
  let ai = 0;
  return format.replace(/%([-+# 0]*)(\d+|\*)?(?:\.(\d+|\*))?([a-zA-Z%])/g, (_m, flags: string, widthS: string | undefined, precS: string | undefined, verb: string) => {
    if (verb === '%') return '%';
    const width = widthS === '*' ? Number(args[ai++]) : widthS ? Number(widthS) : undefined;
    const prec = precS === '*' ? Number(args[ai++]) : precS !== undefined ? Number(precS) : undefined;
    if (ai >= args.length) return `%!${verb}(MISSING)`;
    let v = args[ai++];
    if (typeof v === 'function') v = (v as TemplateFunc)();
    let s: string;
    switch (verb) {
      case 'v':
      case 's':
        s = typeof v === 'string' || verb === 'v' ? sprint(v) : sprint(v);
        if (prec !== undefined) s = [...s].slice(0, prec).join('');
        break;
      case 'q':
        s = goQuote(typeof v === 'string' ? v : sprint(v));
        break;
      case 'd':
        s = typeof v === 'number' ? Math.trunc(v).toString() : `%!d(${typeName(v)}=${sprint(v)})`;
        if (flags.includes('+') && typeof v === 'number' && v >= 0) s = `+${s}`;
        break;
      case 'f':
      case 'F':
        s = typeof v === 'number' ? v.toFixed(prec ?? 6) : `%!f(${typeName(v)}=${sprint(v)})`;
        break;
      case 'e':
        s = typeof v === 'number' ? v.toExponential(prec ?? 6).replace(/e([+-])(\d)$/, 'e$10$2') : `%!e(${typeName(v)}=${sprint(v)})`;
        break;
      case 'g':
        s = typeof v === 'number' ? (prec !== undefined ? String(Number(v.toPrecision(prec))) : formatNumber(v)) : `%!g(${typeName(v)}=${sprint(v)})`;
        break;
      case 'x':
      case 'X':
        s = typeof v === 'number' ? Math.trunc(v).toString(16) : Buffer.from(String(v)).toString('hex');
        if (verb === 'X') s = s.toUpperCase();
        break;
      case 'o':
        s = typeof v === 'number' ? Math.trunc(v).toString(8) : `%!o(${typeName(v)}=${sprint(v)})`;
        break;
      case 'b':
        s = typeof v === 'number' ? Math.trunc(v).toString(2) : `%!b(${typeName(v)}=${sprint(v)})`;
        break;
      case 't':
        s = typeof v === 'boolean' ? String(v) : `%!t(${typeName(v)}=${sprint(v)})`;
        break;
      case 'c':
        s = typeof v === 'number' ? String.fromCodePoint(v) : `%!c(${typeName(v)}=${sprint(v)})`;
        break;
      default:
        s = `%!${verb}(${typeName(v)}=${sprint(v)})`;
    }
    if (width !== undefined && [...s].length < width) {
      const padLen = width - [...s].length;
      if (flags.includes('-')) s += ' '.repeat(padLen);
      else if (flags.includes('0') && /[dfegxXob]/.test(verb)) s = s.startsWith('-') ? `-${'0'.repeat(padLen)}${s.slice(1)}` : '0'.repeat(padLen) + s;
      else s = ' '.repeat(padLen) + s;
    }
    return s;
  }) + (ai < args.length ? `%!(EXTRA ${args.slice(ai).map((a) => `${typeName(a)}=${sprint(a)}`).join(', ')})` : '');
}

/** fmt.Sprint of several values: spaces only between operands that are not both strings. */
function sprintMany(args: unknown[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += sprint(a);
  });
  return out;
}

/**
 * index: docker runs templates over typed structs, where maps are map[string]string: a missing
 * key (or a null map) gives the zero value "", not "<no value>".
 */
function index(v: unknown, ...keys: unknown[]): unknown {
  let cur = v;
  for (const k of keys) {
    if (cur === null || cur === undefined) {
      if (typeof k === 'string') {
        cur = '';
        continue;
      }
      throw new TemplateError('error calling index: index of untyped nil');
    }
    if (Array.isArray(cur) || typeof cur === 'string') {
      if (typeof k !== 'number') throw new TemplateError(`error calling index: cannot index slice/array with type ${typeName(k)}`);
      if (k < 0 || k >= cur.length) throw new TemplateError(`error calling index: index out of range: ${k}`);
      cur = typeof cur === 'string' ? cur.charCodeAt(k) : cur[k];
    } else if (typeof cur === 'object') {
      const key = String(k);
      cur = Object.prototype.hasOwnProperty.call(cur, key) ? (cur as Record<string, unknown>)[key] : '';
    } else {
      throw new TemplateError(`error calling index: can't index item of type ${typeName(cur)}`);
    }
  }
  return cur;
}

export const builtins: Record<string, TemplateFunc> = {
  and: (...args) => {
    for (const a of args) if (!truth(a)) return a;
    return args.at(-1);
  },
  or: (...args) => {
    for (const a of args) if (truth(a)) return a;
    return args.at(-1);
  },
  not: (a) => !truth(a),
  len: (a) => {
    if (typeof a === 'string' || Array.isArray(a)) return a.length;
    if (a && typeof a === 'object') return Object.keys(a).length;
    throw new TemplateError(`error calling len: len of type ${typeName(a)}`);
  },
  index,
  slice: (v, ...idx) => {
    if (typeof v !== 'string' && !Array.isArray(v)) throw new TemplateError(`error calling slice: can't slice item of type ${typeName(v)}`);
    const [a = 0, b = v.length] = idx as number[];
    return v.slice(a, b);
  },
  print: (...args) => sprintMany(args),
  printf: (format, ...args) => sprintf(String(format), ...args),
  println: (...args) => `${args.map((a) => sprint(a)).join(' ')}\n`,
  eq: (a, ...bs) => {
    if (!bs.length) throw new TemplateError('error calling eq: missing argument for comparison');
    return bs.some((b) => compare(a, b, 'eq'));
  },
  ne: (a, b) => !compare(a, b, 'eq'),
  lt: (a, b) => compare(a, b, 'lt'),
  le: (a, b) => compare(a, b, 'le'),
  gt: (a, b) => compare(a, b, 'gt'),
  ge: (a, b) => compare(a, b, 'ge'),
  urlquery: (...args) => encodeURIComponent(sprintMany(args)),
  html: (...args) => sprintMany(args).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`),
  js: (...args) => JSON.stringify(sprintMany(args)).slice(1, -1),
};

type Scope = { name: string; value: unknown }[];

class Exec {
  private vars: Scope = [];

  constructor(private readonly funcs: Record<string, TemplateFunc>, private out: string[]) {}

  run(nodes: Node[], dot: unknown): void {
    for (const n of nodes) this.node(n, dot);
  }

  private node(n: Node, dot: unknown): void {
    switch (n.kind) {
      case 'text':
        this.out.push(n.text);
        return;
      case 'action': {
        const v = this.pipe(n.pipe, dot);
        if (!n.pipe.decl.length) this.out.push(sprint(v));
        return;
      }
      case 'break':
        throw new Break();
      case 'continue':
        throw new Continue();
      case 'if':
      case 'with': {
        const mark = this.vars.length;
        const v = this.pipe(n.pipe, dot);
        if (truth(v)) this.run(n.list, n.kind === 'with' ? v : dot);
        else if (n.elseList) this.run(n.elseList, dot);
        this.vars.length = mark;
        return;
      }
      case 'range':
        this.range(n, dot);
    }
  }

  private range(n: { pipe: Pipe; list: Node[]; elseList: Node[] | undefined }, dot: unknown): void {
    const mark = this.vars.length;
    const decl = n.pipe.decl;
    const v = this.pipe({ ...n.pipe, decl: [] }, dot);
    let items: [unknown, unknown][];
    if (v === null || v === undefined) items = [];
    else if (Array.isArray(v)) items = v.map((x, i) => [i, x]);
    else if (typeof v === 'number') items = Array.from({ length: Math.max(0, Math.trunc(v)) }, (_, i) => [i, i]);
    else if (typeof v === 'object') items = Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]);
    else throw new TemplateError(`range can't iterate over ${sprint(v)}`);
    if (!items.length) {
      if (n.elseList) this.run(n.elseList, dot);
      this.vars.length = mark;
      return;
    }
    for (const [k, x] of items) {
      const inner = this.vars.length;
      if (decl.length === 1) this.vars.push({ name: decl[0]!, value: x });
      else if (decl.length === 2) this.vars.push({ name: decl[0]!, value: k }, { name: decl[1]!, value: x });
      try {
        this.run(n.list, x);
      } catch (e) {
        if (e instanceof Break) {
          this.vars.length = inner;
          break;
        }
        if (!(e instanceof Continue)) throw e;
      }
      this.vars.length = inner;
    }
    this.vars.length = mark;
  }

  private lookupVar(name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i]!.name === name) return this.vars[i]!.value;
    throw new TemplateError(`undefined variable: ${name}`);
  }

  pipe(p: Pipe, dot: unknown): unknown {
    let value: unknown;
    let first = true;
    for (const c of p.cmds) {
      value = this.cmd(c, dot, first ? [] : [value]);
      first = false;
    }
    if (p.decl.length) {
      if (p.assign) {
        const name = p.decl[0]!;
        const slot = [...this.vars].reverse().find((s) => s.name === name);
        if (!slot) throw new TemplateError(`undefined variable: ${name}`);
        slot.value = value;
      } else {
        for (const name of p.decl) this.vars.push({ name, value });
      }
    }
    return value;
  }

  private chain(v: unknown, names: string[], args: unknown[]): unknown {
    names.forEach((name, i) => {
      v = field(v, name, args, i === names.length - 1);
    });
    return v;
  }

  private cmd(c: Cmd, dot: unknown, final: unknown[]): unknown {
    const [head, ...rest] = c.args as [Arg, ...Arg[]];
    if (head.kind === 'func') {
      const f = this.funcs[head.name];
      if (!f) throw new TemplateError(`function "${head.name}" not defined`);
      return f(...rest.map((a) => this.arg(a, dot)), ...final);
    }
    if (head.kind === 'field' && head.chain.length) {
      return this.chain(dot, head.chain, [...rest.map((a) => this.arg(a, dot)), ...final]);
    }
    if ((head.kind === 'var' || head.kind === 'pipe') && head.chain.length) {
      const base = head.kind === 'var' ? this.lookupVar(head.name) : this.pipe(head.pipe, dot);
      return this.chain(base, head.chain, [...rest.map((a) => this.arg(a, dot)), ...final]);
    }
    if (rest.length || final.length) {
      const what = head.kind === 'field' ? '.' : head.kind === 'var' ? head.name : head.kind === 'string' ? JSON.stringify(head.value) : head.kind;
      throw new TemplateError(`can't give argument to non-function ${what}`);
    }
    return this.arg(head, dot);
  }

  private arg(a: Arg, dot: unknown): unknown {
    switch (a.kind) {
      case 'field':
        return a.chain.length ? this.chain(dot, a.chain, []) : dot;
      case 'var': {
        const base = a.name === '$' ? this.lookupVar('$') : this.lookupVar(a.name);
        return a.chain.length ? this.chain(base, a.chain, []) : base;
      }
      case 'pipe': {
        const v = this.pipe(a.pipe, dot);
        return a.chain.length ? this.chain(v, a.chain, []) : v;
      }
      case 'func': {
        const f = this.funcs[a.name];
        if (!f) throw new TemplateError(`function "${a.name}" not defined`);
        return f();
      }
      case 'string':
      case 'number':
      case 'bool':
        return a.value;
      case 'nil':
        return null;
    }
  }

  withRoot(data: unknown): this {
    this.vars = [{ name: '$', value: data }];
    return this;
  }
}

export class Template {
  private constructor(private readonly nodes: Node[], private readonly funcs: Record<string, TemplateFunc>) {}

  /** Parses `src`; unknown functions are reported here, as Go does at parse time. */
  static parse(src: string, funcs: Record<string, TemplateFunc> = {}): Template {
    const all = { ...builtins, ...funcs };
    const nodes = parseTemplate(src);
    checkFuncs(nodes, all);
    return new Template(nodes, all);
  }

  execute(data: unknown, funcs?: Record<string, TemplateFunc>): string {
    const out: string[] = [];
    new Exec(funcs ? { ...this.funcs, ...funcs } : this.funcs, out).withRoot(data).run(this.nodes, data);
    return out.join('');
  }
}

function checkFuncs(nodes: Node[], funcs: Record<string, TemplateFunc>): void {
  const checkPipe = (p: Pipe): void => {
    for (const c of p.cmds) {
      for (const a of c.args) {
        if (a.kind === 'func' && !funcs[a.name]) throw new TemplateError(`function "${a.name}" not defined`);
        if (a.kind === 'pipe') checkPipe(a.pipe);
      }
    }
  };
  for (const n of nodes) {
    if (n.kind === 'action') checkPipe(n.pipe);
    if (n.kind === 'if' || n.kind === 'with' || n.kind === 'range') {
      checkPipe(n.pipe);
      checkFuncs(n.list, funcs);
      if (n.elseList) checkFuncs(n.elseList, funcs);
    }
  }
}
