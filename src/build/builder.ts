// The classic Dockerfile builder's executor. It plans the build (only the stages the target
// needs), builds each level of independent stages in parallel, and runs every instruction as
// Docker's classic builder does: a metadata step commits a new config; RUN runs a container from
// the current image and commits its changes as a layer; COPY/ADD copy into a container's root
// and commit; each step is first looked up in the cache, keyed on the parent image (which
// carries the whole config), the instruction and, for COPY/ADD, the checksum of what it copies.
// Step containers are removed whatever happens; a failing RUN ends the build with its exit code.
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '../common/errors.js';
import type { ContainerConfig } from '../image/config.js';
import type { BuildBackend, BuildImage, StepCommit, StepMount } from './backend.js';
import { BuildContext, type SourceMatch } from './context.js';
import { copyInto, makeDirIn } from './copy.js';
import {
  DockerfileError, EXPANDED_KINDS, SCRIPT_DIR, StageVariables, atLine, expandInstruction, parseDockerfile, parseRunMount, parseTrigger, planBuild,
  resolveCopyFrom, runWithHeredocs,
  type AddInstruction, type BuildArgValues, type BuildPlan, type CopyInstruction, type PlannedStage, type RunInstruction, type StageInstruction,
} from './dockerfile/index.js';
import { inlineSources } from './inline-sources.js';
import { missingMountPoints, removeMountPoints } from './mount-stubs.js';
import { HeldOutput, type BuildOutput } from './output.js';
import { planMounts, type HeldMount } from './run-mounts.js';
import { DEFAULT_SHELL, applyMetadata, applyWorkdir, nopCreatedBy, type StageState } from './step-config.js';

export interface BuildOptions {
  /** The Dockerfile's path in the context. */
  dockerfile: string;
  tags: string[];
  buildArgs: BuildArgValues;
  target?: string;
  noCache: boolean;
  pull: boolean;
  /** --label: added to the final image. */
  labels: Record<string, string>;
  platform?: string;
  /** RUN containers' network: "default", "host" or "none". */
  networkMode: string;
  shmSize?: number;
}

/** A failed build: the message Docker shows, and the exit code the CLI ends with (a RUN's own). */
export class BuildError extends BerthError {
  constructor(message: string, readonly exitCode = 1) {
    super('INVALID_ARGUMENT', message);
  }
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

function cacheKey(parent: BuildImage, parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify([parent.id, ...parts])).digest('hex');
}

export class Builder {
  private readonly results = new Map<number, BuildImage>();
  private plan!: BuildPlan;
  private totalSteps = 0;

  constructor(
    private readonly backend: BuildBackend,
    private readonly context: BuildContext,
    private readonly o: BuildOptions,
  ) {}

  /** Builds, tags and returns the final image; progress goes to `out`. */
  async build(out: BuildOutput): Promise<BuildImage> {
    const text = this.context.readDockerfile(this.o.dockerfile);
    const dockerfile = parseDockerfile(text);
    this.plan = planBuild(dockerfile, { target: this.o.target, buildArgs: this.o.buildArgs, pruneUnused: true });
    const firstStep = new Map<number, number>();
    this.totalSteps = dockerfile.metaArgs.length;
    for (const s of this.plan.stages) {
      firstStep.set(s.index, this.totalSteps + 1);
      this.totalSteps += 1 + s.stage.instructions.length;
    }
    dockerfile.metaArgs.forEach((a, i) => out.stream(`Step ${i + 1}/${this.totalSteps} : ${a.source}\n`));
    const byIndex = new Map(this.plan.stages.map((s) => [s.index, s]));
    for (const level of this.plan.levels) {
      if (level.length === 1) {
        this.results.set(level[0]!, await this.buildStage(byIndex.get(level[0]!)!, firstStep.get(level[0]!)!, out));
        continue;
      }
      // Independent stages at once; each one's lines held and written in order.
      const held = level.map(() => new HeldOutput());
      const settled = await Promise.allSettled(level.map((i, n) => this.buildStage(byIndex.get(i)!, firstStep.get(i)!, held[n]!)));
      for (const [n, r] of settled.entries()) {
        held[n]!.flushTo(out);
        if (r.status === 'rejected') throw r.reason;
        this.results.set(level[n]!, r.value);
      }
    }
    let image = this.results.get(this.plan.target)!;
    if (Object.keys(this.o.labels).length) {
      const config = { ...(image.config.config ?? {}), Labels: { ...(image.config.config?.Labels ?? {}), ...this.o.labels } };
      const shell = config.Shell?.length ? config.Shell : DEFAULT_SHELL;
      image = await this.backend.commitConfig(image, { config, createdBy: nopCreatedBy(shell, ` LABEL ${Object.entries(this.o.labels).map(([k, v]) => `${k}=${v}`).join(' ')}`) });
    }
    const warning = this.plan.args.unconsumedWarning();
    if (warning) out.stream(`${warning}\n`);
    out.aux({ ID: image.id });
    out.stream(`Successfully built ${short(image.id)}\n`);
    for (const t of this.o.tags) {
      this.backend.tag(image, t);
      out.stream(`Successfully tagged ${/:[^/]+$/.test(t) ? t : `${t}:latest`}\n`);
    }
    return image;
  }

  private async baseImage(s: PlannedStage, out: BuildOutput): Promise<BuildImage> {
    if (s.base.kind === 'stage') return this.results.get(s.base.index)!;
    if (s.base.kind === 'scratch') return this.backend.scratch();
    return this.backend.image(s.base.ref, { pull: this.o.pull, platform: s.from.platform ?? this.o.platform, progress: (l) => out.stream(`${l}\n`) });
  }

  private async buildStage(s: PlannedStage, firstStep: number, out: BuildOutput): Promise<BuildImage> {
    let step = firstStep;
    out.stream(`Step ${step++}/${this.totalSteps} : ${s.stage.from.source}\n`);
    let image = await this.baseImage(s, out);
    out.stream(` ---> ${short(image.id)}\n`);
    const state: StageState = { config: structuredClone(image.config.config ?? {}), cmdSet: false };
    // As Docker's classic builder: a stage whose base sets no PATH gets the default one.
    if (!(state.config.Env ?? []).some((e) => e.startsWith('PATH='))) state.config.Env = [...(state.config.Env ?? []), `PATH=${DEFAULT_PATH}`];
    const vars = new StageVariables(this.plan.args, state.config.Env ?? []);
    const triggers = state.config.OnBuild ?? [];
    if (triggers.length) {
      // The base image's ONBUILD triggers run first, and are not inherited further.
      out.stream(`# Executing ${triggers.length} build trigger${triggers.length > 1 ? 's' : ''}\n`);
      state.config.OnBuild = null;
      for (const t of triggers) image = await this.step(s, image, state, vars, parseTrigger(t), out);
    }
    for (const instr of s.stage.instructions) {
      out.stream(`Step ${step++}/${this.totalSteps} : ${instr.source}\n`);
      image = await this.step(s, image, state, vars, instr, out);
    }
    return image;
  }

  /** One instruction: from the cache, or done and committed. Returns the step's image. */
  private async step(s: PlannedStage, parent: BuildImage, state: StageState, vars: StageVariables, raw: StageInstruction, out: BuildOutput): Promise<BuildImage> {
    const instr = EXPANDED_KINDS.has(raw.kind) ? expandInstruction(raw, vars.expansionEnv(), this.plan.escapeToken) : raw;
    const shell = state.config.Shell?.length ? state.config.Shell : DEFAULT_SHELL;
    let image: BuildImage;
    if (instr.kind === 'RUN') image = await this.run(s, parent, state, vars, instr, shell, out);
    else if (instr.kind === 'COPY' || instr.kind === 'ADD') image = await this.copy(s, parent, state, instr, shell, out);
    else if (instr.kind === 'WORKDIR') {
      const dir = applyWorkdir(state, instr.path);
      // As Docker: the directory is made in the image, so a later RUN can cd into it.
      image = await this.cachedOr(parent, ['WORKDIR', dir, state.config], out, () => this.inContainer(parent, state, nopCreatedBy(shell, ` WORKDIR ${dir}`), async (rootfs) => makeDirIn(rootfs, dir)));
    } else {
      if (instr.kind === 'ENV' || instr.kind === 'ARG') {
        vars.apply(instr);
        state.config.Env = [...vars.env];
      }
      const text = applyMetadata(state, instr);
      if (text === undefined) throw new DockerfileError(`unknown instruction: ${instr.kind}`, instr.line);
      const commit: StepCommit = { config: state.config, createdBy: nopCreatedBy(shell, text), author: state.author };
      image = await this.cachedOr(parent, [commit], out, () => this.backend.commitConfig(parent, structuredClone(commit)));
    }
    out.stream(` ---> ${short(image.id)}\n`);
    // the next step starts from what this one made (a cache hit's config equals the computed one)
    state.config = structuredClone(image.config.config ?? {});
    return image;
  }

  private async cachedOr(parent: BuildImage, keyParts: unknown[], out: BuildOutput, make: () => Promise<BuildImage>): Promise<BuildImage> {
    const key = cacheKey(parent, keyParts);
    if (!this.o.noCache) {
      const hit = this.backend.cached(key);
      if (hit) {
        out.stream(' ---> Using cache\n');
        return hit;
      }
    }
    const made = await make();
    this.backend.remember(key, made);
    return made;
  }

  /**
   * RUN: a container from the current image with the build args in its env, committed as a layer;
   * with BuildKit's --mount, --network and heredocs (see run-mounts.ts and dockerfile/heredoc.ts).
   */
  private async run(s: PlannedStage, parent: BuildImage, state: StageState, vars: StageVariables, instr: RunInstruction, shell: string[], out: BuildOutput): Promise<BuildImage> {
    if (instr.security === 'insecure') {
      throw new BuildError('RUN --security=insecure needs the security.insecure entitlement, which Docker\'s daemon denies by default and the classic build API has no way to grant; berth runs build steps sandboxed only');
    }
    if (instr.devices.length) throw new BuildError(`RUN --device=${instr.devices[0]}: BuildKit's CDI devices are not available to build steps in berth`);
    const { args, script } = runWithHeredocs(instr.cmd, instr.heredocs);
    const cmd = instr.cmd.prependShell ? [...shell, ...args] : args;
    const createdBy = vars.historyCommand(cmd).join(' ');
    const runConfig: ContainerConfig = { ...state.config, Cmd: cmd, Entrypoint: null, Env: [...vars.env, ...vars.runArgs()] };
    const networkMode = !instr.network || instr.network === 'default' ? this.o.networkMode : instr.network;
    let mounts;
    try {
      mounts = instr.mounts.map((text) => parseRunMount(text, vars.expansionEnv(), this.plan.escapeToken));
    } catch (err) {
      throw atLine(err, instr.line, instr.endLine);
    }
    const planned = await planMounts(mounts, {
      backend: this.backend,
      context: this.context,
      from: (value) => this.mountSource(s, value, out),
      workdir: state.config.WorkingDir || '/',
      note: (line) => out.stream(`${line}\n`),
    });
    // A plain RUN keeps the classic builder's key (which leaves out the build's network mode);
    // what BuildKit adds is keyed only when used.
    const key: unknown[] = ['RUN', createdBy, runConfig.Env];
    if (planned.length || script || instr.network) key.push(instr.network ?? 'default', planned.map((p) => p.key), script ?? null);
    return this.cachedOr(parent, key, out, async () => {
      const held: HeldMount[] = [];
      try {
        for (const p of planned) held.push(await p.acquire());
        const stepMounts = held.flatMap((h) => (h.mount ? [h.mount] : []));
        if (script) stepMounts.push(this.scriptMount(script));
        const id = await this.backend.createContainer(parent, { config: runConfig, networkMode, shmSize: this.o.shmSize, mounts: stepMounts });
        try {
          out.stream(` ---> Running in ${short(id)}\n`);
          const stubs = stepMounts.length ? await this.backend.withContainerRootfs(id, async (rootfs) => missingMountPoints(rootfs, stepMounts.map((m) => m.target))) : [];
          const status = await this.backend.runContainer(id, (chunk) => out.stream(chunk.toString()));
          if (status !== 0) throw new BuildError(`The command '${cmd.join(' ')}' returned a non-zero code: ${status}`, status);
          if (stubs.length) await this.backend.withContainerRootfs(id, async (rootfs) => removeMountPoints(rootfs, stubs));
          return await this.backend.commitContainer(id, parent, { config: state.config, createdBy, author: state.author });
        } finally {
          await this.backend.removeContainer(id).catch(() => {});
          out.stream(`Removing intermediate container ${short(id)}\n`);
        }
      } finally {
        for (const h of held.reverse()) await h.release().catch(() => {});
      }
    });
  }

  /** A RUN heredoc starting with "#!": a read-only file at /dev/pipes/<name>, as BuildKit runs it. */
  private scriptMount(script: { name: string; data: string }): StepMount {
    const dir = mkdtempSync(join(this.context.scratch(), 'script-'));
    writeFileSync(join(dir, script.name), script.data);
    chmodSync(join(dir, script.name), 0o755);
    return { type: 'bind', target: SCRIPT_DIR, source: dir, readOnly: true };
  }

  /** What a RUN --mount from= names: an earlier stage (built by now: the plan made it a dependency) or an image. */
  private async mountSource(s: PlannedStage, value: string, out: BuildOutput): Promise<BuildImage> {
    const found = resolveCopyFrom(value, s.index, s.earlierStages);
    if ('image' in found) return this.backend.image(found.image, { pull: this.o.pull, platform: this.o.platform, progress: (l) => out.stream(`${l}\n`) });
    const built = this.results.get(found.stage);
    if (!built) throw new BuildError(`cannot mount from stage ${JSON.stringify(value)}, stage needs to be defined before current command`);
    return built;
  }

  /** A container from `parent` that is not run: `fn` changes its files, then it is committed. */
  private async inContainer(parent: BuildImage, state: StageState, createdBy: string, fn: (rootfs: string) => Promise<void>): Promise<BuildImage> {
    const id = await this.backend.createContainer(parent, { config: { ...state.config, Cmd: [...DEFAULT_SHELL, createdBy], Entrypoint: null }, networkMode: 'none' });
    try {
      await this.backend.withContainerRootfs(id, fn);
      return await this.backend.commitContainer(id, parent, { config: state.config, createdBy, author: state.author });
    } finally {
      await this.backend.removeContainer(id).catch(() => {});
    }
  }

  /** COPY/ADD: from the context, a stage or an image; keyed on the checksum of what is copied. */
  private async copy(s: PlannedStage, parent: BuildImage, state: StageState, instr: CopyInstruction | AddInstruction, shell: string[], out: BuildOutput): Promise<BuildImage> {
    if (instr.kind === 'ADD' && instr.sources.some((src) => /^[a-z][a-z0-9+.-]*:\/\//i.test(src) || src.startsWith('git@'))) {
      throw new BuildError(`ADD ${instr.sources.find((src) => src.includes('://') || src.startsWith('git@'))}: berth builds offline and does not download URLs; put the file in the build context`);
    }
    const from = instr.kind === 'COPY' ? s.copyFrom.find((c) => c.instruction.line === instr.line) : undefined;
    const inline = instr.inline.length ? inlineSources(this.context.scratch(), instr.inline) : [];
    const work = async (root: BuildContext) => {
      const matches: SourceMatch[] = [...instr.sources.flatMap((src) => root.sources(src)), ...inline];
      const sum = BuildContext.checksum(matches);
      const createdBy = nopCreatedBy(shell, ` ${instr.kind} ${from ? `--from=${instr.kind === 'COPY' ? instr.from : ''} ` : ''}${matches.length === 1 && matches[0]!.stat.isDirectory() ? 'dir' : 'file'}:${sum.slice(7)} in ${instr.dest} `);
      const key = [instr.kind, createdBy, instr.chown ?? '', instr.chmod ?? '', state.config.WorkingDir ?? ''];
      return this.cachedOr(parent, key, out, () => this.inContainer(parent, state, createdBy, (rootfs) => copyInto(rootfs, matches, {
        dest: instr.dest, workdir: state.config.WorkingDir || '/', chown: instr.chown, chmod: instr.chmod,
        unpackArchives: instr.kind === 'ADD', keepOwners: !!from,
      })));
    };
    if (!from) return work(this.context);
    const source = from.stage !== undefined ? this.results.get(from.stage)! : await this.backend.image(from.image!, { pull: this.o.pull, platform: this.o.platform, progress: (l) => out.stream(`${l}\n`) });
    return this.backend.withImageRootfs(source, (rootfs) => work(BuildContext.at(rootfs)));
  }
}
