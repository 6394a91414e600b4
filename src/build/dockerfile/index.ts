// The pure front half of the classic Dockerfile builder: parse, type, expand, plan, ignore.
// See README.md in this folder for how the executor uses it.
export { DockerfileError, atLine } from './errors.js';
export { parse, parseWords, warningLines, KEYWORDS } from './parser.js';
export type { Directives, KeyValue, Node, ParseResult, ParseWarning } from './parser.js';
export { parseDockerfile, parseInstruction, parseTrigger } from './instructions.js';
export type {
  AddInstruction, ArgInstruction, CmdInstruction, CommandLine, CopyInstruction, Dockerfile, EntrypointInstruction,
  EnvInstruction, ExposeInstruction, InlineSource, FromInstruction, HealthcheckInstruction, HealthConfig, Instruction,
  LabelInstruction, MaintainerInstruction, OnbuildInstruction, RunInstruction, ShellInstruction, Stage,
  StageInstruction, StopSignalInstruction, UserInstruction, VolumeInstruction, WorkdirInstruction,
} from './instructions.js';
export { ShellLex, envFromList } from './shell-lex.js';
export type { Env, EscapeToken, LexOptions, WordResult } from './shell-lex.js';
export { EXPANDED_KINDS, expandInstruction } from './expand.js';
export { BUILTIN_ARGS, BuildArgs, StageVariables, planBuild, resolveCopyFrom } from './stages.js';
export type { BuildArgValues, BuildPlan, CopySource, PlanOptions, PlannedStage, StageBase } from './stages.js';
export { exposedPorts, resolveWorkdir } from './image-config.js';
export { parseGoDuration } from './duration.js';
export { SCRIPT_DIR, chompHeredoc, heredocsInLine, parseHeredocWord, runWithHeredocs } from './heredoc.js';
export type { Heredoc, RunScript } from './heredoc.js';
export { csvFields, mountFromValue, parseRunMount } from './run-mount.js';
export type { CacheSharing, MountType, RunMount } from './run-mount.js';
export {
  PatternMatcher, buildFilesToRemove, cleanPath, keepBuildFiles, parseDockerignore,
} from '../../common/dockerignore.js';
export type { MatchInfo, WalkDecision } from '../../common/dockerignore.js';
