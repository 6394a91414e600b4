// Heredocs (`RUN <<EOF`, `COPY <<EOF /file`), as BuildKit's Dockerfile parser finds them: a word
// of the instruction line that is `[n]<<[-]WORD` starts a document whose body is the lines after
// the instruction up to a line that is WORD (with `<<-`, leading tabs on that line and on the body
// are stripped). A quote anywhere in WORD turns variable expansion of the body off. Only RUN, COPY
// and ADD (also as ONBUILD triggers) in shell form take heredocs; no `# syntax` line is needed.
import { ShellLex } from './shell-lex.js';

export interface Heredoc {
  /** The delimiter, quotes removed: also the file name a COPY source gets. */
  name: string;
  /** `3<<EOF`: the file descriptor written (0 when none). */
  fd: number;
  /** The body's variables are expanded (no quote in the delimiter word). */
  expand: boolean;
  /** `<<-`: leading tabs are stripped from the body and the terminator line. */
  chomp: boolean;
  /** The body as written, each line with its newline; tabs not yet stripped. */
  content: string;
}

const HEREDOC_WORD = /^(\d*)<<(-?)\s*([^<]*)$/;
const NO_ENV = new Map<string, string>();

/**
 * The heredoc a word (or, for RUN, the whole command) is, without its body; undefined when it is
 * none ("<<", "<<<EOF", "<<EOF sh"). Throws on an unbalanced quote in the delimiter.
 */
export function parseHeredocWord(word: string): Omit<Heredoc, 'content'> | undefined {
  const m = HEREDOC_WORD.exec(word);
  if (!m || m[3] === '') return undefined;
  const rest = m[3] as string;
  const plain = new ShellLex('\\', { skipUnsetEnv: true }).processWords(rest, NO_ENV);
  if (plain.length !== 1) return undefined;
  const raw = new ShellLex('\\', { skipUnsetEnv: true, rawQuotes: true }).processWords(rest, NO_ENV);
  if (raw.length !== 1) throw new Error(`internal lexing of heredoc produced inconsistent results: ${rest}`);
  const quotes = (s: string) => (s.match(/['"]/g) ?? []).length;
  const name = plain[0] as string;
  return { name, fd: Number(m[1] || 0), expand: quotes(name) === quotes(raw[0] as string), chomp: m[2] === '-' };
}

/** The heredocs an instruction line opens, in order (their bodies follow the line). */
export function heredocsInLine(line: string): Array<Omit<Heredoc, 'content'>> {
  let words: string[];
  try {
    words = new ShellLex('\\', { rawQuotes: true, rawEscapes: true, skipUnsetEnv: true }).processWords(line, NO_ENV);
  } catch {
    return []; // unbalanced quotes: BuildKit finds no heredoc either
  }
  // BuildKit's lexer keeps the blanks after an unquoted "<<" in the word: "<< EOF" is one word.
  const joined: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as string;
    if (w.endsWith('<<') && !w.endsWith('\\<<') && i + 1 < words.length) joined.push(`${w} ${words[++i]}`);
    else joined.push(w);
  }
  return joined.flatMap((w) => parseHeredocWord(w) ?? []);
}

/** `<<-`: leading tabs removed from every line. */
export function chompHeredoc(content: string): string {
  return content.replace(/^\t+/gm, '');
}

/** Whether a line ends the heredoc (its newline ignored; with `<<-` its leading tabs too). */
export function endsHeredoc(line: string, doc: Pick<Heredoc, 'name' | 'chomp'>): boolean {
  let text = line.replace(/[\r\n]+$/, '');
  if (doc.chomp) text = text.replace(/^\t+/, '');
  return text === doc.name;
}

/** A RUN heredoc that starts with "#!": written to a file and run as a program. */
export interface RunScript {
  /** The file's name (the delimiter); it is mounted read-only at SCRIPT_DIR/name. */
  name: string;
  data: string;
}

/** Where BuildKit mounts a RUN's "#!" heredoc. */
export const SCRIPT_DIR = '/dev/pipes';

/**
 * RUN's command with its heredocs, as BuildKit runs it. A bare `RUN <<EOF`: the body is the
 * script (run by SHELL, or, starting with "#!", as a program of its own). Otherwise the line and
 * the bodies with their terminators go to SHELL as one text, so the shell feeds each document to
 * its command (`RUN python3 <<EOF`, `RUN cat <<EOF >file`) and expands it, or not, as sh does.
 */
export function runWithHeredocs(cmd: { args: string[]; prependShell: boolean }, docs: readonly Heredoc[]): { args: string[]; script?: RunScript } {
  if (docs.length === 0) return { args: [...cmd.args] };
  if (cmd.args.length !== 1 || !cmd.prependShell) throw new Error(`parsing produced an invalid run command: ${JSON.stringify(cmd.args)}`);
  const line = cmd.args[0] as string;
  if (parseHeredocWord(line)) {
    const first = docs[0] as Heredoc;
    const data = first.chomp ? chompHeredoc(first.content) : first.content;
    if (!data.startsWith('#!')) return { args: [data] };
    const name = first.name.replace(/\//g, '_');
    return { args: [`${SCRIPT_DIR}/${name}`], script: { name, data } };
  }
  return { args: [line + docs.map((d) => `\n${d.content}${d.name}`).join('')] };
}
