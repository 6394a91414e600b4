// Which instruction arguments the classic builder expands, and expanding them. Docker substitutes
// variables in ADD, COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR and ARG
// (and ONBUILD triggers when they run); RUN, CMD, ENTRYPOINT, HEALTHCHECK and SHELL are left to
// the shell in the container, MAINTAINER and ONBUILD are stored as written.
import { atLine } from './errors.js';
import type { InlineSource, Instruction, KeyValue } from './instructions.js';
import { ShellLex, type EscapeToken, type Env } from './shell-lex.js';

/** Keywords whose arguments the builder expands. */
export const EXPANDED_KINDS: ReadonlySet<Instruction['kind']> = new Set([
  'ADD', 'ARG', 'COPY', 'ENV', 'EXPOSE', 'FROM', 'LABEL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR',
]);

/**
 * Returns a copy of `instr` with its arguments expanded against `env` (for a stage step: the
 * stage's ENV plus the ARGs declared so far, see StageVariables.expansionEnv(); for FROM: the
 * global args, see BuildArgs.metaEnv()). Every value of one instruction is expanded against the
 * same env: `ENV a=1 b=$a` sees the `a` from before this line, as in Docker. EXPOSE values are
 * also split into words (`EXPOSE $PORTS` with PORTS="80 443" gives two ports). COPY --from is not
 * expanded (the classic builder does not). Throws DockerfileError with the instruction's line.
 */
export function expandInstruction<T extends Instruction>(instr: T, env: Env, escapeToken: EscapeToken = '\\'): T {
  // Each branch of expand() returns the kind it was given.
  return expand(instr, env, escapeToken) as T;
}

function expand(instr: Instruction, env: Env, escapeToken: EscapeToken): Instruction {
  const lex = new ShellLex(escapeToken);
  const word = (w: string): string => lex.processWord(w, env);
  // A heredoc body: variables and escapes, but quotes are text (BuildKit's raw expansion).
  const body = (src: InlineSource): InlineSource => (src.expand ? { ...src, data: new ShellLex('\\', { skipProcessQuotes: true }).processWord(src.data, env) } : src);
  const pairs = (ps: KeyValue[]): KeyValue[] => ps.map((p) => ({ key: word(p.key), value: word(p.value) }));
  try {
    switch (instr.kind) {
      case 'FROM':
        return { ...instr, image: word(instr.image), ...(instr.platform !== undefined ? { platform: word(instr.platform) } : {}) };
      case 'ENV':
      case 'LABEL':
        return { ...instr, pairs: pairs(instr.pairs) };
      case 'ARG':
        return {
          ...instr,
          args: instr.args.map((a) => (a.value === undefined ? { key: word(a.key) } : { key: word(a.key), value: word(a.value) })),
        };
      case 'COPY': {
        const out = { ...instr, sources: instr.sources.map(word), inline: instr.inline.map(body), dest: word(instr.dest) };
        if (instr.chown !== undefined) out.chown = word(instr.chown);
        if (instr.chmod !== undefined) out.chmod = word(instr.chmod);
        return out;
      }
      case 'ADD': {
        const out = { ...instr, sources: instr.sources.map(word), inline: instr.inline.map(body), dest: word(instr.dest) };
        if (instr.chown !== undefined) out.chown = word(instr.chown);
        if (instr.chmod !== undefined) out.chmod = word(instr.chmod);
        if (instr.checksum !== undefined) out.checksum = word(instr.checksum);
        return out;
      }
      case 'EXPOSE':
        return { ...instr, ports: instr.ports.flatMap((p) => lex.processWords(p, env)) };
      case 'VOLUME':
        return { ...instr, paths: instr.paths.map(word) };
      case 'USER':
        return { ...instr, user: word(instr.user) };
      case 'WORKDIR':
        return { ...instr, path: word(instr.path) };
      case 'STOPSIGNAL':
        return { ...instr, signal: word(instr.signal) };
      default:
        return instr;
    }
  } catch (err) {
    throw atLine(err, instr.line, instr.endLine);
  }
}
