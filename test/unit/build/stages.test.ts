// Build args and their scopes (the Dockerfile reference's ARG examples), --target, stage
// dependencies and parallel levels, unused build-arg warnings.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from '../../../src/common/errors.js';
import {
  DockerfileError, exposedPorts, expandInstruction, parseDockerfile, planBuild, resolveWorkdir,
  type BuildArgValues, type BuildPlan, type Instruction, type StageVariables,
} from '../../../src/build/dockerfile/index.js';

/**
 * Runs the variable side of a build like the executor will: each stage gets a scope, each
 * instruction is expanded against it, ENV/ARG update it. Returns the expanded instructions.
 */
function simulate(text: string, buildArgs: BuildArgValues = {}, target?: string): { plan: BuildPlan; steps: Instruction[][]; scopes: StageVariables[] } {
  const plan = planBuild(parseDockerfile(text), { buildArgs, ...(target ? { target } : {}) });
  const steps: Instruction[][] = [];
  const scopes: StageVariables[] = [];
  for (const s of plan.stages) {
    const vars = plan.args.stage([]);
    const out: Instruction[] = [];
    for (const instr of s.stage.instructions) {
      const e = expandInstruction(instr, vars.expansionEnv(), plan.escapeToken);
      if (e.kind === 'ENV' || e.kind === 'ARG') vars.apply(e);
      out.push(e);
    }
    steps.push(out);
    scopes.push(vars);
  }
  return { plan, steps, scopes };
}
const users = (steps: Instruction[]) => steps.flatMap((i) => (i.kind === 'USER' ? [i.user] : []));

it('an ARG is usable from its line on (the reference\'s username example)', () => {
  const text = 'FROM busybox\nUSER ${username:-some_user}\nARG username\nUSER $username\n';
  assert.deepEqual(users(simulate(text, { username: 'what_user' }).steps[0] ?? []), ['some_user', 'what_user']);
  assert.deepEqual(users(simulate(text).steps[0] ?? []), ['some_user', '']);
});

it('ENV overrides an ARG of the same name; ARG defaults and build args combine as documented', () => {
  const overridden = simulate('FROM ubuntu\nARG CONT_IMG_VER\nENV CONT_IMG_VER=v1.0.0\n', { CONT_IMG_VER: 'v2.0.1' });
  const vars = overridden.scopes[0] as StageVariables;
  assert.equal(vars.expansionEnv().get('CONT_IMG_VER'), 'v1.0.0');
  assert.deepEqual(vars.runArgs(), []); // the Env entry shadows the arg in RUN too
  const text = 'FROM ubuntu\nARG CONT_IMG_VER\nENV CONT_IMG_VER=${CONT_IMG_VER:-v1.0.0}\n';
  assert.deepEqual(simulate(text).scopes[0]?.env, ['CONT_IMG_VER=v1.0.0']);
  assert.deepEqual(simulate(text, { CONT_IMG_VER: 'v2.0.1' }).scopes[0]?.env, ['CONT_IMG_VER=v2.0.1']);
  assert.deepEqual(simulate('FROM x\nARG A=default\n', { A: 'given' }).scopes[0]?.runArgs(), ['A=given']);
  assert.deepEqual(simulate('FROM x\nARG A=default\n', { A: null }).scopes[0]?.runArgs(), ['A=default']);
});

it('global ARGs feed FROM lines, and a stage sees one only after re-declaring it', () => {
  const text = 'ARG  CODE_VERSION=latest\nFROM base:${CODE_VERSION}\nCMD  /code/run-app\n\nFROM extras:${CODE_VERSION}\nARG CODE_VERSION\nRUN echo $CODE_VERSION\nUSER u$CODE_VERSION\n';
  const def = simulate(text);
  assert.deepEqual(def.plan.stages.map((s) => s.from.image), ['base:latest', 'extras:latest']);
  assert.deepEqual(def.plan.stages.map((s) => s.base), [{ kind: 'image', ref: 'base:latest' }, { kind: 'image', ref: 'extras:latest' }]);
  assert.equal(def.scopes[0]?.expansionEnv().has('CODE_VERSION'), false); // not re-declared in stage 0
  assert.deepEqual(users(def.steps[1] ?? []), ['ulatest']);
  const given = simulate(text, { CODE_VERSION: '1.2' });
  assert.deepEqual(given.plan.stages.map((s) => s.from.image), ['base:1.2', 'extras:1.2']);
  assert.deepEqual(users(given.steps[1] ?? []), ['u1.2']);
  // A build arg that is not a global ARG does not reach FROM.
  assert.equal(simulate('FROM busybox:${TAG:-stable}\n', { TAG: 'x' }).plan.stages[0]?.from.image, 'busybox:stable');
  // Global args expand against the ones before them.
  assert.equal(simulate('ARG A=1\nARG B=${A}2\nFROM img:$B\n', { A: '9' }).plan.stages[0]?.from.image, 'img:92');
  assert.equal(simulate('ARG P=linux/arm64\nFROM --platform=$P x\n').plan.stages[0]?.from.platform, 'linux/arm64');
});

it('an ARG stays in its stage', () => {
  const r = simulate('FROM busybox\nARG SETTINGS\nUSER $SETTINGS\n\nFROM busybox\nUSER x$SETTINGS\n', { SETTINGS: 'on' });
  assert.deepEqual(r.steps.map(users), [['on'], ['x']]);
});

it('predefined proxy args: visible without ARG, kept out of history unless declared, never "unused"', () => {
  const r = simulate('FROM x\nRUN true\n', { HTTP_PROXY: 'http://p:3128', FOO: 'x', BAR: null });
  const vars = r.scopes[0] as StageVariables;
  assert.equal(vars.expansionEnv().get('HTTP_PROXY'), 'http://p:3128');
  assert.deepEqual(vars.runArgs(), ['HTTP_PROXY=http://p:3128']);
  assert.deepEqual(vars.historyCommand(['/bin/sh', '-c', 'true']), ['|0', '/bin/sh', '-c', 'true']);
  assert.deepEqual(r.plan.args.unconsumed(), ['BAR', 'FOO']);
  assert.equal(r.plan.args.unconsumedWarning(), '[Warning] One or more build-args [BAR FOO] were not consumed');

  const declared = simulate('FROM x\nARG HTTP_PROXY\nARG FOO=bar\n', { HTTP_PROXY: 'http://p:3128' });
  assert.deepEqual(declared.scopes[0]?.historyCommand(['/bin/sh', '-c', 'make']), [
    '|2', 'FOO=bar', 'HTTP_PROXY=http://p:3128', '/bin/sh', '-c', 'make',
  ]);
  assert.equal(declared.plan.args.unconsumedWarning(), undefined);
  assert.deepEqual(simulate('FROM x\n').scopes[0]?.historyCommand(['ls']), ['ls']);
  // The classic builder defines no TARGETPLATFORM & co.
  assert.equal(simulate('FROM x\nARG TARGETARCH\n').scopes[0]?.expansionEnv().has('TARGETARCH'), false);
});

it('global ARGs count as consumed; ARGs of stages past --target do not', () => {
  const text = 'ARG G\nFROM x AS one\nARG A\nFROM x AS two\nARG B\n';
  assert.deepEqual(simulate(text, { G: '1', A: '1', B: '1' }, 'one').plan.args.unconsumed(), ['B']);
  assert.deepEqual(simulate(text, { G: '1', A: '1', B: '1' }).plan.args.unconsumed(), []);
});

const MULTI = `FROM golang:1.21 AS deps
FROM deps AS build
RUN go build
FROM alpine AS tools
FROM scratch AS final
COPY --from=BUILD /app /app
COPY --from=2 /bin/tool /tool
COPY --from=nginx:latest /etc/nginx/nginx.conf /nginx.conf
FROM final AS test
`;

it('resolves stage bases and COPY --from, and groups independent stages into levels', () => {
  const plan = planBuild(parseDockerfile(MULTI));
  assert.equal(plan.target, 4);
  assert.deepEqual(plan.stages.map((s) => [s.index, s.name, s.base, s.dependsOn]), [
    [0, 'deps', { kind: 'image', ref: 'golang:1.21' }, []],
    [1, 'build', { kind: 'stage', index: 0 }, [0]],
    [2, 'tools', { kind: 'image', ref: 'alpine' }, []],
    [3, 'final', { kind: 'scratch' }, [1, 2]],
    [4, 'test', { kind: 'stage', index: 3 }, [3]],
  ]);
  assert.deepEqual(plan.stages[3]?.copyFrom.map((c) => [c.instruction.line, c.stage, c.image]), [
    [6, 1, undefined], [7, 2, undefined], [8, undefined, 'nginx:latest'],
  ]);
  assert.deepEqual(plan.levels, [[0, 2], [1], [3], [4]]);
});

it('--target picks a stage case-insensitively; the classic builder builds every stage up to it', () => {
  const df = parseDockerfile(MULTI);
  const plan = planBuild(df, { target: 'BUILD' });
  assert.equal(plan.target, 1);
  assert.deepEqual(plan.stages.map((s) => s.index), [0, 1]);
  assert.deepEqual(planBuild(df, { target: 'tools' }).stages.map((s) => s.index), [0, 1, 2]);
  assert.deepEqual(planBuild(df, { target: 'tools', pruneUnused: true }).stages.map((s) => s.index), [2]);
  assert.deepEqual(planBuild(df, { target: 'final', pruneUnused: true }).levels, [[0, 2], [1], [3]]);
  assert.throws(() => planBuild(df, { target: 'nope' }), (e: unknown) => {
    assert.ok(e instanceof BerthError);
    assert.equal(e.message, 'failed to reach build target nope in Dockerfile');
    assert.equal(e.httpStatus, 400);
    return true;
  });
});

it('refers only to earlier stages: a later name is an image, a later or own index an error', () => {
  const later = planBuild(parseDockerfile('FROM a AS one\nCOPY --from=two /x /x\nFROM b AS two\n'));
  assert.deepEqual(later.stages[0]?.copyFrom.map((c) => c.image), ['two']);
  const fromLater = planBuild(parseDockerfile('FROM two\nFROM b AS two\n'));
  assert.deepEqual(fromLater.stages[0]?.base, { kind: 'image', ref: 'two' });
  const fail = (text: string, message: string, line: number) =>
    assert.throws(() => planBuild(parseDockerfile(text)), (e: unknown) => e instanceof DockerfileError && e.message === message && e.line === line);
  fail('FROM a\nFROM b\nCOPY --from=1 /x /y\n', 'invalid from flag value 1: refers to current build stage', 3);
  fail('FROM a\n\nCOPY --from=5 /x /y\n', 'invalid from flag value 5: index out of bounds', 3);
  fail('FROM a AS x\nFROM b AS X\n', 'x stage name already used', 2);
  fail('ARG EMPTY=\nFROM $EMPTY\n', 'base name ($EMPTY) should not be blank', 2);
  assert.throws(() => planBuild(parseDockerfile('ARG ONLY=1\n')), /No image was generated/);
});

it('normalizes WORKDIR and EXPOSE the way the classic builder stores them', () => {
  assert.equal(resolveWorkdir('', 'a'), '/a');
  assert.equal(resolveWorkdir('/a', 'b/../c/'), '/a/c');
  assert.equal(resolveWorkdir('/a', '/x//y/'), '/x/y');
  assert.deepEqual(exposedPorts(['80', '53/UDP', '8000-8002/tcp', '127.0.0.1:8080:80', '80/tcp']), [
    '80/tcp', '53/udp', '8000/tcp', '8001/tcp', '8002/tcp',
  ]);
  assert.throws(() => exposedPorts(['80/xyz']), /invalid proto: xyz/);
  assert.throws(() => exposedPorts(['abc']), /invalid containerPort: abc/);
});
