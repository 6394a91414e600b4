// Build args, variable scopes and the stage plan, following Docker's classic builder
// (moby builder/dockerfile: buildargs.go, evaluator.go, builder.go):
//  - ARGs before the first FROM (global/meta args) are visible in FROM lines only; inside a stage a
//    global arg is visible after `ARG NAME` re-declares it, and then has the global value;
//  - `--build-arg` values override ARG defaults; ENV overrides an ARG of the same name;
//  - the proxy variables (HTTP_PROXY, ...) are predefined: usable without an ARG, and kept out of
//    the image history unless declared. The classic builder defines no TARGETPLATFORM/BUILDPLATFORM
//    (those are BuildKit's), so neither do we;
//  - `--target` picks a stage by name (case-insensitive); the classic builder builds every stage up
//    to the target, in order; dependencies (FROM <stage>, COPY --from=<stage|index>) only point to
//    earlier stages, so the plan gives levels of stages that can be built in parallel.
import { DockerfileError } from './errors.js';
import { expandInstruction } from './expand.js';
import type { ArgInstruction, CopyInstruction, Dockerfile, EnvInstruction, FromInstruction, Stage } from './instructions.js';
import { invalid } from '../../common/errors.js';
import { mountFromValue } from './run-mount.js';
import type { EscapeToken } from './shell-lex.js';

/** Build args as the API receives them (`buildargs`): a null value means "declared, no value". */
export type BuildArgValues = Readonly<Record<string, string | null | undefined>>;

/** Docker's predefined args: usable without ARG, not reported unused, not in history unless declared. */
export const BUILTIN_ARGS: ReadonlySet<string> = new Set([
  'HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy',
  'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy',
]);

type Declared = Map<string, string | undefined>;

/** The build-wide args state: the user's values, the global args, and what the Dockerfile used. */
export class BuildArgs {
  private readonly values = new Map<string, string>();
  private readonly given: string[];
  private readonly meta: Declared = new Map();
  private readonly global: Declared = new Map();
  private readonly referenced = new Set<string>();

  constructor(values: BuildArgValues = {}) {
    this.given = Object.keys(values);
    for (const [k, v] of Object.entries(values)) if (typeof v === 'string') this.values.set(k, v);
  }

  /**
   * The value of `key` in a scope: the --build-arg value if one was given, else the scope's
   * default, else (for `ARG NAME` without default) the global arg's value; undefined = not set.
   */
  valueIn(scope: Declared, key: string): string | undefined {
    const user = this.values.get(key);
    if (user !== undefined) return user;
    const def = scope.get(key);
    return def !== undefined ? def : this.meta.get(key);
  }

  /** Every arg visible in a scope (its declared ones plus the predefined ones that have a value). */
  visibleIn(scope: Declared): Map<string, string> {
    const out = new Map<string, string>();
    for (const key of [...scope.keys(), ...BUILTIN_ARGS]) {
      const v = this.valueIn(scope, key);
      if (v !== undefined) out.set(key, v);
    }
    return out;
  }

  /**
   * Runs a global ARG (before the first FROM): its words are expanded against the global args
   * declared so far, then each is declared. Returns the expanded instruction.
   */
  declareGlobal(instr: ArgInstruction, escapeToken: EscapeToken = '\\'): ArgInstruction {
    const expanded = expandInstruction(instr, this.visibleIn(this.global), escapeToken);
    for (const { key, value } of expanded.args) {
      this.global.set(key, value);
      this.meta.set(key, value);
      this.referenced.add(key);
    }
    return expanded;
  }

  /** What FROM lines (image and --platform) are expanded against: the global args. */
  metaEnv(): Map<string, string> {
    return this.visibleIn(this.meta);
  }

  /** A new variable scope for a stage whose base image has `baseEnv` ("K=V" list). */
  stage(baseEnv: readonly string[] = []): StageVariables {
    return new StageVariables(this, baseEnv);
  }

  /** @internal StageVariables reports the args a stage declares. */
  markReferenced(key: string): void {
    this.referenced.add(key);
  }

  /** @internal */
  isReferenced(key: string): boolean {
    return this.referenced.has(key);
  }

  /** Build args given by the user that no executed ARG declared (predefined ones excepted), sorted. */
  unconsumed(): string[] {
    return this.given.filter((k) => !this.referenced.has(k) && !BUILTIN_ARGS.has(k)).sort();
  }

  /** Docker's end-of-build warning, or undefined when every build arg was used. */
  unconsumedWarning(): string | undefined {
    const left = this.unconsumed();
    return left.length ? `[Warning] One or more build-args [${left.join(' ')}] were not consumed` : undefined;
  }
}

/**
 * The variables of one stage while it is built: the image config's Env (from the base image, then
 * changed by ENV) and the ARGs declared in the stage so far.
 */
export class StageVariables {
  /** The config Env, "K=V" strings in order; starts as the base image's (the executor adds the default PATH). */
  readonly env: string[];
  private readonly declared: Declared = new Map();

  constructor(
    private readonly args: BuildArgs,
    baseEnv: readonly string[],
  ) {
    this.env = [...baseEnv];
  }

  /** What expandable instructions see: the Env, plus the declared args not shadowed by an Env entry. */
  expansionEnv(): Map<string, string> {
    const out = new Map<string, string>();
    for (const kv of this.env) {
      const eq = kv.indexOf('=');
      out.set(eq < 0 ? kv : kv.slice(0, eq), eq < 0 ? '' : kv.slice(eq + 1));
    }
    for (const [k, v] of this.args.visibleIn(this.declared)) if (!out.has(k)) out.set(k, v);
    return out;
  }

  /** Declares an ARG in this stage (after expansion). */
  declareArg(key: string, value?: string): void {
    this.declared.set(key, value);
    this.args.markReferenced(key);
  }

  /** Sets an Env entry as ENV does: replaces the same key in place, or appends. */
  setEnv(key: string, value: string): void {
    const i = this.env.findIndex((kv) => (kv.includes('=') ? kv.slice(0, kv.indexOf('=')) : kv) === key);
    if (i >= 0) this.env[i] = `${key}=${value}`;
    else this.env.push(`${key}=${value}`);
  }

  /** Applies an already expanded ENV or ARG instruction. */
  apply(instr: EnvInstruction | ArgInstruction): void {
    if (instr.kind === 'ENV') for (const p of instr.pairs) this.setEnv(p.key, p.value);
    else for (const a of instr.args) this.declareArg(a.key, a.value);
  }

  /**
   * The args a RUN step's container gets on top of the Env ("K=V", sorted): the visible args not
   * shadowed by an Env entry. They are not saved in the image config.
   */
  runArgs(): string[] {
    const envKeys = new Set(this.env.map((kv) => (kv.includes('=') ? kv.slice(0, kv.indexOf('=')) : kv)));
    return [...this.args.visibleIn(this.declared)]
      .filter(([k]) => !envKeys.has(k))
      .map(([k, v]) => `${k}=${v}`)
      .sort();
  }

  /**
   * The command Docker records for a RUN step (history and cache key) when args are in play:
   * ["|N", ...sorted "K=V" args, ...cmd], leaving out predefined args the stage did not declare.
   * Without visible args, `cmd` itself.
   */
  historyCommand(cmd: readonly string[]): string[] {
    const run = this.runArgs();
    if (run.length === 0) return [...cmd];
    const kept = run.filter((kv) => {
      const k = kv.slice(0, kv.indexOf('='));
      return this.declared.has(k) || !BUILTIN_ARGS.has(k);
    });
    return [`|${kept.length}`, ...kept, ...cmd];
  }
}

export type StageBase = { kind: 'stage'; index: number } | { kind: 'image'; ref: string } | { kind: 'scratch' };

export interface CopySource {
  instruction: CopyInstruction;
  /** The stage it copies from, or the image to pull/use. */
  stage?: number;
  image?: string;
}

export interface PlannedStage {
  index: number;
  name?: string;
  stage: Stage;
  /** The FROM line with global args substituted. */
  from: FromInstruction;
  base: StageBase;
  /** COPY --from of this stage, resolved. */
  copyFrom: CopySource[];
  /** The stage names defined before this stage (what a RUN --mount from= may name), lower case. */
  earlierStages: ReadonlyMap<string, number>;
  /** Stages this one needs built first, sorted. */
  dependsOn: number[];
}

export interface BuildPlan {
  /** The stages to build, in Dockerfile order, ending with the target. */
  stages: PlannedStage[];
  /** Index of the target stage (the last stage, or --target). */
  target: number;
  /** Stage indices grouped so each group only needs earlier groups: build a group in parallel. */
  levels: number[][];
  /** The build's args, with the global args already processed; use it for each stage's scope. */
  args: BuildArgs;
  escapeToken: EscapeToken;
}

export interface PlanOptions {
  /** --target: a stage name (case-insensitive). Default: the last stage. */
  target?: string;
  buildArgs?: BuildArgValues;
  /**
   * Leave out stages the target does not need (BuildKit does). Default false: the classic builder
   * builds every stage up to the target, so a failing unused stage fails the build.
   */
  pruneUnused?: boolean;
}

/**
 * Resolves a `COPY --from=` value against the stages before `current`: a stage name
 * (case-insensitive), else a number (a stage index: earlier stages only), else an image.
 */
export function resolveCopyFrom(value: string, current: number, earlier: ReadonlyMap<string, number>): { stage: number } | { image: string } {
  const byName = earlier.get(value.toLowerCase());
  if (byName !== undefined) return { stage: byName };
  if (/^[+-]?\d+$/.test(value)) {
    const n = Number(value);
    if (n === current) throw new DockerfileError(`invalid from flag value ${value}: refers to current build stage`);
    if (n < 0 || n > current) throw new DockerfileError(`invalid from flag value ${value}: index out of bounds`);
    return { stage: n };
  }
  return { image: value };
}

/** Plans a build: global args, --target, each stage's base and the stages it depends on. */
export function planBuild(dockerfile: Dockerfile, opts: PlanOptions = {}): BuildPlan {
  const escapeToken = dockerfile.escapeToken;
  const args = new BuildArgs(opts.buildArgs);
  for (const meta of dockerfile.metaArgs) args.declareGlobal(meta, escapeToken);
  if (dockerfile.stages.length === 0) throw invalid('No image was generated. Is your Dockerfile empty?');

  let target = dockerfile.stages.length - 1;
  if (opts.target !== undefined && opts.target !== '') {
    const wanted = opts.target.toLowerCase();
    const found = dockerfile.stages.findIndex((s) => s.name === wanted);
    if (found < 0) throw invalid(`failed to reach build target ${opts.target} in Dockerfile`);
    target = found;
  }

  const planned: PlannedStage[] = [];
  const names = new Map<string, number>();
  for (const stage of dockerfile.stages.slice(0, target + 1)) {
    const fail = (reason: string, line: number, endLine?: number) => new DockerfileError(reason, line, endLine, { prefix: false });
    if (stage.name !== undefined && names.has(stage.name)) throw fail(`${stage.name} stage name already used`, stage.from.line);
    const from = expandInstruction(stage.from, args.metaEnv(), escapeToken);
    if (from.image === '') throw fail(`base name (${stage.from.image}) should not be blank`, from.line, from.endLine);
    const baseStage = names.get(from.image.toLowerCase());
    const base: StageBase =
      baseStage !== undefined ? { kind: 'stage', index: baseStage } : from.image === 'scratch' ? { kind: 'scratch' } : { kind: 'image', ref: from.image };
    const copyFrom: CopySource[] = [];
    for (const instr of stage.instructions) {
      if (instr.kind !== 'COPY' || instr.from === undefined) continue;
      try {
        copyFrom.push({ instruction: instr, ...resolveCopyFrom(instr.from, stage.index, names) });
      } catch (err) {
        throw fail((err as DockerfileError).reason, instr.line, instr.endLine);
      }
    }
    const deps = new Set<number>(copyFrom.flatMap((c) => (c.stage !== undefined ? [c.stage] : [])));
    if (base.kind === 'stage') deps.add(base.index);
    // RUN --mount=from=<stage> needs that stage built first, as COPY --from does.
    for (const instr of stage.instructions) {
      if (instr.kind !== 'RUN') continue;
      for (const m of instr.mounts) {
        const value = mountFromValue(m);
        if (value === undefined || value === '') continue;
        try {
          const found = resolveCopyFrom(value, stage.index, names);
          if ('stage' in found) deps.add(found.stage);
        } catch (err) {
          throw fail((err as DockerfileError).reason, instr.line, instr.endLine);
        }
      }
    }
    planned.push({
      index: stage.index,
      ...(stage.name !== undefined ? { name: stage.name } : {}),
      stage,
      from,
      base,
      copyFrom,
      earlierStages: new Map(names),
      dependsOn: [...deps].sort((a, b) => a - b),
    });
    if (stage.name !== undefined) names.set(stage.name, stage.index);
  }

  let stages = planned;
  if (opts.pruneUnused) {
    const needed = new Set<number>([target]);
    for (let i = target; i >= 0; i--) if (needed.has(i)) for (const d of (planned[i] as PlannedStage).dependsOn) needed.add(d);
    stages = planned.filter((s) => needed.has(s.index));
  }
  return { stages, target, levels: levelsOf(stages), args, escapeToken };
}

function levelsOf(stages: readonly PlannedStage[]): number[][] {
  const level = new Map<number, number>();
  const levels: number[][] = [];
  for (const s of stages) {
    const l = Math.max(-1, ...s.dependsOn.map((d) => level.get(d) ?? -1)) + 1;
    level.set(s.index, l);
    (levels[l] ??= []).push(s.index);
  }
  return levels;
}
