// Typed instructions from parsed nodes, with the argument checks and messages of Docker's
// instructions package (buildkit frontend/dockerfile/instructions), and the split into stages:
// ARGs before the first FROM are the global ("meta") args, each FROM starts a stage.
// Values stay source text here (quotes, $VARS); expand.ts substitutes them when a step runs.
import { parseGoDuration } from './duration.js';
import { DockerfileError } from './errors.js';
import { chompHeredoc, parseHeredocWord, type Heredoc } from './heredoc.js';
import { mountFromValue } from './run-mount.js';
import { parse, type Directives, type EscapeToken, type KeyValue, type Node, type ParseWarning } from './parser.js';

export type { KeyValue } from './parser.js';

interface Base {
  /** 1-based first and last line in the Dockerfile. */
  line: number;
  endLine: number;
  /** The instruction as written, continuations joined and trimmed (Docker's step text). */
  source: string;
}

/** RUN/CMD/ENTRYPOINT arguments: exec form, or one string to run with the stage's SHELL. */
export interface CommandLine {
  args: string[];
  /** Shell form: `args` is [commandString] and the executor prepends SHELL (default ["/bin/sh", "-c"]). */
  prependShell: boolean;
}

export interface FromInstruction extends Base {
  kind: 'FROM';
  /** Image reference, stage name or "scratch"; expanded with the global args only. */
  image: string;
  /** `AS name`, lower-cased (stage names are case-insensitive). */
  name?: string;
  /** `--platform=` (source text). */
  platform?: string;
}
export interface RunInstruction extends Base {
  kind: 'RUN';
  cmd: CommandLine;
  /** `--mount=` values as written (CSV; variables are expanded when the step runs, see run-mount.ts). */
  mounts: string[];
  /** `--network=`: default, none or host. */
  network?: string;
  /** `--security=`: sandbox or insecure. */
  security?: string;
  /** `--device=` values (BuildKit's CDI devices). */
  devices: string[];
  /** The heredocs the command opens, bodies included (see runCommandLine in heredoc-run.ts). */
  heredocs: Heredoc[];
}
export interface CmdInstruction extends Base {
  kind: 'CMD';
  cmd: CommandLine;
}
export interface EntrypointInstruction extends Base {
  kind: 'ENTRYPOINT';
  /** Empty args (`ENTRYPOINT []` or a bare `ENTRYPOINT`) clear the entrypoint (Docker stores null). */
  cmd: CommandLine;
}
export interface EnvInstruction extends Base {
  kind: 'ENV';
  pairs: KeyValue[];
}
export interface LabelInstruction extends Base {
  kind: 'LABEL';
  pairs: KeyValue[];
}
export interface ArgInstruction extends Base {
  kind: 'ARG';
  /** `ARG a b=2`: value undefined when none is given (the build arg or global value is used). */
  args: Array<{ key: string; value?: string }>;
}
export interface ExposeInstruction extends Base {
  kind: 'EXPOSE';
  /** Port specs as written ("80", "53/udp", "$PORT"), sorted as Docker does. */
  ports: string[];
}
export interface VolumeInstruction extends Base {
  kind: 'VOLUME';
  paths: string[];
}
export interface UserInstruction extends Base {
  kind: 'USER';
  user: string;
}
export interface WorkdirInstruction extends Base {
  kind: 'WORKDIR';
  path: string;
}
/** A COPY/ADD source written inline as a heredoc (`COPY <<EOF /dest`): a file named after its delimiter. */
export interface InlineSource {
  name: string;
  /** The body, `<<-` tabs already stripped. */
  data: string;
  /** Variables in the body are expanded (the delimiter had no quotes). */
  expand: boolean;
}
interface SourcesAndDest {
  /** Paths in the context (or --from); heredoc sources are in `inline`. */
  sources: string[];
  inline: InlineSource[];
  dest: string;
  chown?: string;
  chmod?: string;
  /** `--link` is accepted; the classic builder ignores it. */
  link: boolean;
  /** `--exclude=` patterns (BuildKit). */
  excludes: string[];
}
export interface CopyInstruction extends Base, SourcesAndDest {
  kind: 'COPY';
  /** `--from=` stage name, stage index or image (not expanded, as in the classic builder). */
  from?: string;
  /** `--parents` (BuildKit). */
  parents: boolean;
}
export interface AddInstruction extends Base, SourcesAndDest {
  kind: 'ADD';
  /** BuildKit-only ADD flags, recorded so the executor can refuse them. */
  checksum?: string;
  keepGitDir?: boolean;
  unpack?: boolean;
}
/** Docker's HealthConfig; durations in nanoseconds, 0 = inherit/default. */
export interface HealthConfig {
  /** ["NONE"], ["CMD", exe, ...args] or ["CMD-SHELL", command]. */
  test: string[];
  interval: number;
  timeout: number;
  startPeriod: number;
  startInterval: number;
  retries: number;
}
export interface HealthcheckInstruction extends Base {
  kind: 'HEALTHCHECK';
  health: HealthConfig;
}
export interface StopSignalInstruction extends Base {
  kind: 'STOPSIGNAL';
  signal: string;
}
export interface OnbuildInstruction extends Base {
  kind: 'ONBUILD';
  /** The trigger's keyword, upper case ("RUN"). */
  trigger: string;
  /** The trigger as written (stored in the image's OnBuild; parse it with parseTrigger when used). */
  expression: string;
}
export interface MaintainerInstruction extends Base {
  kind: 'MAINTAINER';
  maintainer: string;
}
export interface ShellInstruction extends Base {
  kind: 'SHELL';
  shell: string[];
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CmdInstruction
  | EntrypointInstruction
  | EnvInstruction
  | LabelInstruction
  | ArgInstruction
  | ExposeInstruction
  | VolumeInstruction
  | UserInstruction
  | WorkdirInstruction
  | CopyInstruction
  | AddInstruction
  | HealthcheckInstruction
  | StopSignalInstruction
  | OnbuildInstruction
  | MaintainerInstruction
  | ShellInstruction;

/** The instructions that may appear inside a stage (everything but FROM). */
export type StageInstruction = Exclude<Instruction, FromInstruction>;

export interface Stage {
  /** Position in the Dockerfile, 0-based (what `COPY --from=0` refers to). */
  index: number;
  /** `AS name`, lower-cased. */
  name?: string;
  from: FromInstruction;
  instructions: StageInstruction[];
}

export interface Dockerfile {
  escapeToken: EscapeToken;
  directives: Directives;
  /** ARG instructions before the first FROM. */
  metaArgs: ArgInstruction[];
  stages: Stage[];
  warnings: ParseWarning[];
}

/** Parses a Dockerfile into global args and stages. Throws DockerfileError naming the line. */
export function parseDockerfile(text: string): Dockerfile {
  const result = parse(text);
  const metaArgs: ArgInstruction[] = [];
  const stages: Stage[] = [];
  for (const node of result.nodes) {
    const instr = parseInstruction(node);
    if (instr.kind === 'FROM') {
      stages.push({ index: stages.length, ...(instr.name ? { name: instr.name } : {}), from: instr, instructions: [] });
    } else if (stages.length === 0) {
      if (instr.kind !== 'ARG') throw new DockerfileError('no build stage in current context', node.startLine, node.endLine);
      metaArgs.push(instr);
    } else {
      (stages[stages.length - 1] as Stage).instructions.push(instr);
    }
  }
  return { escapeToken: result.escapeToken, directives: result.directives, metaArgs, stages, warnings: result.warnings };
}

/**
 * Parses an ONBUILD trigger read from a base image's config (Docker re-parses each one, with the
 * default escape token, when a stage starts FROM that image).
 */
export function parseTrigger(expression: string): StageInstruction {
  const { nodes } = parse(expression);
  if (nodes.length !== 1) throw new DockerfileError('onbuild trigger should be a single expression');
  const instr = parseInstruction(nodes[0] as Node);
  if (instr.kind === 'FROM') throw new DockerfileError('FROM isn\'t allowed as an ONBUILD trigger');
  return instr;
}

/** One node to its typed instruction; errors carry the node's lines. */
export function parseInstruction(node: Node): Instruction {
  try {
    return build(node);
  } catch (err) {
    if (err instanceof DockerfileError) throw err;
    throw new DockerfileError((err as Error).message, node.startLine, node.endLine);
  }
}

type FlagKind = 'bool' | 'string' | 'strings';
type FlagValues = Map<string, string | boolean | string[]>;

/**
 * Docker's builder flags: `--name=value` for strings (repeatable for lists), `--name` or
 * `--name=true|false` for booleans. Unknown and duplicate flags are errors.
 */
function parseFlags(raw: readonly string[], spec: Record<string, FlagKind>): FlagValues {
  const out: FlagValues = new Map();
  for (const arg of raw) {
    if (arg === '--') break;
    if (!arg.startsWith('--')) throw new Error(`arg should start with -- : ${arg}`);
    const eq = arg.indexOf('=');
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const value = eq < 0 ? undefined : arg.slice(eq + 1);
    const name = flag.slice(2);
    const kind = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (kind === undefined) throw new Error(`unknown flag: ${flag}`);
    if (out.has(name) && kind !== 'strings') throw new Error(`duplicate flag specified: ${flag}`);
    if (kind === 'bool') {
      if (value === '') throw new Error(`missing a value on flag: ${flag}`);
      const v = (value ?? 'true').toLowerCase();
      if (v !== 'true' && v !== 'false') throw new Error(`expecting boolean value for flag ${flag}, not: ${value}`);
      out.set(name, v === 'true');
    } else {
      if (value === undefined) throw new Error(`missing a value on flag: ${flag}`);
      if (kind === 'string') out.set(name, value);
      else out.set(name, [...((out.get(name) as string[] | undefined) ?? []), value]);
    }
  }
  return out;
}

const str = (f: FlagValues, name: string): string | undefined => f.get(name) as string | undefined;
const bool = (f: FlagValues, name: string): boolean => f.get(name) === true;
const list = (f: FlagValues, name: string): string[] => (f.get(name) as string[] | undefined) ?? [];
const opt = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };

const atLeastOne = (cmd: string) => new Error(`${cmd} requires at least one argument`);
const exactlyOne = (cmd: string) => new Error(`${cmd} requires exactly one argument`);
const noDestination = (cmd: string) =>
  new Error(`${cmd} requires at least two arguments, but only one was provided. Destination could not be determined`);

// Docker's shell form is the arguments joined into one string.
const commandLine = (node: Node): CommandLine => ({
  args: node.json ? [...node.args] : node.args.length ? [node.args.join(' ')] : [],
  prependShell: !node.json,
});

function keyValues(node: Node, cmd: string): KeyValue[] {
  const pairs = node.pairs ?? [];
  if (pairs.length === 0) throw atLeastOne(cmd);
  if (pairs.some((p) => p.key === '')) throw new Error(`${cmd} names can not be blank`);
  return pairs.map((p) => ({ ...p }));
}

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

function build(node: Node): Instruction {
  const base: Base = { line: node.startLine, endLine: node.endLine, source: node.original.trim() };
  const args = node.args;
  switch (node.command) {
    case 'from': {
      let name: string | undefined;
      if (args.length === 3 && (args[1] as string).toLowerCase() === 'as') {
        name = (args[2] as string).toLowerCase();
        if (!STAGE_NAME.test(name)) {
          throw new Error(`invalid name for build stage: ${JSON.stringify(args[2])}, name can't start with a number or contain symbols`);
        }
      } else if (args.length !== 1) {
        throw new Error('FROM requires either one or three arguments');
      }
      const f = parseFlags(node.flags, { platform: 'string' });
      const platform = str(f, 'platform');
      return { ...base, kind: 'FROM', image: args[0] as string, ...opt('name', name), ...opt('platform', platform) };
    }
    case 'run': {
      const f = parseFlags(node.flags, { mount: 'strings', network: 'string', security: 'string', device: 'strings' });
      const network = str(f, 'network');
      if (network !== undefined && !['default', 'none', 'host'].includes(network)) throw new Error(`invalid network mode ${JSON.stringify(network)}`);
      const security = str(f, 'security');
      if (security !== undefined && !['sandbox', 'insecure'].includes(security)) throw new Error(`security ${JSON.stringify(security)} is not valid`);
      const mounts = list(f, 'mount');
      for (const m of mounts) checkMountFrom(m);
      return {
        ...base, kind: 'RUN', cmd: commandLine(node), mounts, ...opt('network', network), ...opt('security', security),
        devices: list(f, 'device'), heredocs: node.heredocs.map((h) => ({ ...h })),
      };
    }
    case 'cmd':
      parseFlags(node.flags, {});
      return { ...base, kind: 'CMD', cmd: commandLine(node) };
    case 'entrypoint':
      parseFlags(node.flags, {});
      return { ...base, kind: 'ENTRYPOINT', cmd: commandLine(node) };
    case 'env':
      parseFlags(node.flags, {});
      return { ...base, kind: 'ENV', pairs: keyValues(node, 'ENV') };
    case 'label':
      parseFlags(node.flags, {});
      return { ...base, kind: 'LABEL', pairs: keyValues(node, 'LABEL') };
    case 'arg': {
      // ARG ignores flags, as in Docker.
      if (args.length === 0) throw atLeastOne('ARG');
      const out = args.map((word) => {
        const eq = word.indexOf('=');
        if (eq < 0) return { key: word };
        if (eq === 0) throw new Error('ARG names can not be blank');
        return { key: word.slice(0, eq), value: word.slice(eq + 1) };
      });
      return { ...base, kind: 'ARG', args: out };
    }
    case 'expose': {
      if (args.length === 0) throw atLeastOne('EXPOSE');
      parseFlags(node.flags, {});
      return { ...base, kind: 'EXPOSE', ports: [...args].sort(byBytes) };
    }
    case 'volume': {
      if (args.length === 0) throw atLeastOne('VOLUME');
      parseFlags(node.flags, {});
      const paths = args.map((v) => v.trim());
      if (paths.some((p) => p === '')) throw new Error('VOLUME specified can not be an empty string');
      return { ...base, kind: 'VOLUME', paths };
    }
    case 'user':
      if (args.length !== 1) throw exactlyOne('USER');
      parseFlags(node.flags, {});
      return { ...base, kind: 'USER', user: args[0] as string };
    case 'workdir':
      if (args.length !== 1) throw exactlyOne('WORKDIR');
      parseFlags(node.flags, {});
      return { ...base, kind: 'WORKDIR', path: args[0] as string };
    case 'stopsignal':
      // STOPSIGNAL ignores flags, as in Docker.
      if (args.length !== 1) throw exactlyOne('STOPSIGNAL');
      return { ...base, kind: 'STOPSIGNAL', signal: args[0] as string };
    case 'maintainer':
      if (args.length !== 1) throw exactlyOne('MAINTAINER');
      parseFlags(node.flags, {});
      return { ...base, kind: 'MAINTAINER', maintainer: args[0] as string };
    case 'copy': {
      if (args.length < 2) throw noDestination('COPY');
      const f = parseFlags(node.flags, { chown: 'string', from: 'string', chmod: 'string', link: 'bool', exclude: 'strings', parents: 'bool' });
      return {
        ...base,
        kind: 'COPY',
        ...sourcesAndDest(node, 'COPY'),
        ...opt('from', nonEmpty(str(f, 'from'))),
        ...opt('chown', nonEmpty(str(f, 'chown'))),
        ...opt('chmod', nonEmpty(str(f, 'chmod'))),
        link: bool(f, 'link'),
        parents: bool(f, 'parents'),
        excludes: list(f, 'exclude'),
      };
    }
    case 'add': {
      if (args.length < 2) throw noDestination('ADD');
      const f = parseFlags(node.flags, {
        chown: 'string', chmod: 'string', link: 'bool', 'keep-git-dir': 'bool', checksum: 'string', unpack: 'bool', exclude: 'strings',
      });
      return {
        ...base,
        kind: 'ADD',
        ...sourcesAndDest(node, 'ADD'),
        ...opt('chown', nonEmpty(str(f, 'chown'))),
        ...opt('chmod', nonEmpty(str(f, 'chmod'))),
        link: bool(f, 'link'),
        excludes: list(f, 'exclude'),
        ...opt('checksum', nonEmpty(str(f, 'checksum'))),
        ...opt('keepGitDir', f.has('keep-git-dir') ? bool(f, 'keep-git-dir') : undefined),
        ...opt('unpack', f.has('unpack') ? bool(f, 'unpack') : undefined),
      };
    }
    case 'healthcheck':
      return { ...base, kind: 'HEALTHCHECK', health: healthConfig(node) };
    case 'onbuild': {
      if (args.length === 0) throw atLeastOne('ONBUILD');
      parseFlags(node.flags, {});
      const trigger = (args[0] as string).trim().toUpperCase();
      if (trigger === 'ONBUILD') throw new Error("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
      if (trigger === 'MAINTAINER' || trigger === 'FROM') throw new Error(`${trigger} isn't allowed as an ONBUILD trigger`);
      // The trigger is stored as text: with its heredocs' bodies and terminators, to be parsed again.
      const expression = node.original.replace(/^\s*ONBUILD\s*/i, '') + node.heredocs.map((h) => `\n${h.content}${h.name}`).join('');
      return { ...base, kind: 'ONBUILD', trigger, expression };
    }
    case 'shell': {
      parseFlags(node.flags, {});
      if (args.length === 0) throw atLeastOne('SHELL');
      if (!node.json) throw new Error('SHELL requires the arguments to be in JSON form');
      return { ...base, kind: 'SHELL', shell: [...args] };
    }
    default:
      throw new Error(`unknown instruction: ${node.keyword.toUpperCase()}`);
  }
}

/** COPY/ADD's sources (heredoc words become inline files) and destination. */
function sourcesAndDest(node: Node, cmd: string): Pick<SourcesAndDest, 'sources' | 'inline' | 'dest'> {
  const dest = node.args[node.args.length - 1] as string;
  if (parseHeredocWord(dest)) throw new Error(`${cmd} cannot accept a heredoc as a destination`);
  const bodies = new Map(node.heredocs.map((h) => [h.name, h]));
  const sources: string[] = [];
  const inline: InlineSource[] = [];
  for (const src of node.args.slice(0, -1)) {
    const doc = node.json ? undefined : parseHeredocWord(src);
    if (!doc) {
      sources.push(src);
      continue;
    }
    const content = bodies.get(doc.name)?.content ?? '';
    inline.push({ name: doc.name, data: doc.chomp ? chompHeredoc(content) : content, expand: doc.expand });
  }
  return { sources, inline, dest };
}

/** BuildKit refuses a variable in a mount's from= (a stage must be known before the build runs). */
function checkMountFrom(value: string): void {
  const from = mountFromValue(value) ?? '';
  const dollar = from.indexOf('$');
  if (dollar !== -1 && dollar !== from.length - 1) throw new Error("'from' doesn't support variable expansion, define alias stage instead");
}

const nonEmpty = (s: string | undefined): string | undefined => (s === '' ? undefined : s);
// Go sorts strings by bytes; for port specs (ASCII) that is code-unit order.
const byBytes = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Docker's optional HEALTHCHECK durations: "" or 0 means unset; otherwise at least 1ms. */
function interval(f: FlagValues, name: string): number {
  const value = str(f, name) ?? '';
  if (value === '') return 0;
  const ns = parseGoDuration(value);
  if (ns === 0) return 0;
  if (ns < 1_000_000) throw new Error(`Interval ${JSON.stringify(name)} cannot be less than 1ms`);
  return ns;
}

function healthConfig(node: Node): HealthConfig {
  const [typeWord, ...rest] = node.args;
  if (typeWord === undefined) throw atLeastOne('HEALTHCHECK');
  const type = typeWord.toUpperCase();
  const none = { interval: 0, timeout: 0, startPeriod: 0, startInterval: 0, retries: 0 };
  if (type === 'NONE') {
    if (rest.length !== 0) throw new Error('HEALTHCHECK NONE takes no arguments');
    return { test: ['NONE'], ...none };
  }
  const f = parseFlags(node.flags, {
    interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string',
  });
  if (type !== 'CMD') throw new Error(`Unknown type ${JSON.stringify(type)} in HEALTHCHECK (try CMD)`);
  const cmd = node.json ? rest : rest.length ? [rest.join(' ')] : [];
  if (cmd.length === 0) throw new Error('Missing command after HEALTHCHECK CMD');
  const health: HealthConfig = { test: [node.json ? 'CMD' : 'CMD-SHELL', ...cmd], ...none };
  health.interval = interval(f, 'interval');
  health.timeout = interval(f, 'timeout');
  health.startPeriod = interval(f, 'start-period');
  health.startInterval = interval(f, 'start-interval');
  const retries = str(f, 'retries') ?? '';
  if (retries !== '') {
    if (!/^[+-]?\d+$/.test(retries)) throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(retries)}: invalid syntax`);
    const n = Number(retries);
    if (n > 2 ** 31 - 1 || n < -(2 ** 31)) throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(retries)}: value out of range`);
    if (n < 0) throw new Error(`--retries cannot be negative (${n})`);
    health.retries = n;
  }
  return health;
}
