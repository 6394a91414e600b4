// Typed instructions: every keyword's record, Docker's argument checks and messages, stages.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DockerfileError, parseDockerfile, parseGoDuration, parseTrigger, type Instruction,
} from '../../../src/build/dockerfile/index.js';

const steps = (body: string): Instruction[] => parseDockerfile(`FROM busybox\n${body}\n`).stages[0]?.instructions ?? [];
const step = (body: string): Instruction => steps(body)[0] as Instruction;
const fails = (body: string, message: string, line = 2) =>
  assert.throws(() => parseDockerfile(`FROM busybox\n${body}\n`), (e: unknown) => {
    assert.ok(e instanceof DockerfileError);
    assert.equal(e.message, `dockerfile parse error line ${line}: ${message}`);
    assert.equal(e.line, line);
    assert.equal(e.httpStatus, 400);
    return true;
  });

it('splits global args and stages; FROM takes AS (case-insensitive names) and --platform', () => {
  const df = parseDockerfile('ARG BASE=alpine\nFROM --platform=$BUILDPLATFORM ${BASE} AS Build\nRUN make\nfrom scratch\nCOPY --from=build /out /\n');
  assert.deepEqual(df.metaArgs.map((a) => a.args), [[{ key: 'BASE', value: 'alpine' }]]);
  assert.equal(df.stages.length, 2);
  const [s0, s1] = df.stages;
  assert.deepEqual(
    { index: s0?.index, name: s0?.name, image: s0?.from.image, platform: s0?.from.platform, line: s0?.from.line },
    { index: 0, name: 'build', image: '${BASE}', platform: '$BUILDPLATFORM', line: 2 },
  );
  assert.equal(s0?.from.source, 'FROM --platform=$BUILDPLATFORM ${BASE} AS Build');
  assert.deepEqual(s0?.instructions.map((i) => [i.kind, i.line]), [['RUN', 3]]);
  assert.equal(s1?.name, undefined);
  assert.equal(s1?.from.image, 'scratch');
});

it('refuses what Docker refuses in FROM and before it', () => {
  assert.throws(() => parseDockerfile('FROM a b\n'), { message: 'dockerfile parse error line 1: FROM requires either one or three arguments' });
  assert.throws(() => parseDockerfile('FROM a AS 1st\n'), {
    message: 'dockerfile parse error line 1: invalid name for build stage: "1st", name can\'t start with a number or contain symbols',
  });
  assert.throws(() => parseDockerfile('FROM --foo=1 a\n'), { message: 'dockerfile parse error line 1: unknown flag: --foo' });
  assert.throws(() => parseDockerfile('RUN x\nFROM a\n'), /line 1: no build stage in current context/);
  assert.throws(() => parseDockerfile('FROM a\n\nFOO bar\n'), { message: 'dockerfile parse error line 3: unknown instruction: FOO' });
});

it('gives RUN, CMD and ENTRYPOINT a command line in exec or shell form', () => {
  assert.deepEqual(step('RUN apt-get update && \\\n  apt-get install -y x'), {
    kind: 'RUN', line: 2, endLine: 3, source: 'RUN apt-get update &&   apt-get install -y x',
    cmd: { args: ['apt-get update &&   apt-get install -y x'], prependShell: true }, mounts: [], devices: [], heredocs: [],
  });
  assert.deepEqual((step('RUN ["/bin/bash", "-c", "echo hello"]') as { cmd: unknown }).cmd, { args: ['/bin/bash', '-c', 'echo hello'], prependShell: false });
  assert.deepEqual((step('CMD echo $HOME') as { cmd: unknown }).cmd, { args: ['echo $HOME'], prependShell: true });
  assert.deepEqual((step('ENTRYPOINT []') as { cmd: unknown }).cmd, { args: [], prependShell: false });
  const run = step('RUN --mount=type=cache,target=/root/.cache --mount=type=bind,source=x,target=/x --network=none --security=sandbox pip install x');
  assert.deepEqual([run.kind === 'RUN' && run.mounts, run.kind === 'RUN' && run.network, run.kind === 'RUN' && run.security], [
    ['type=cache,target=/root/.cache', 'type=bind,source=x,target=/x'], 'none', 'sandbox',
  ]);
  fails('RUN --network=bridge x', 'invalid network mode "bridge"');
  fails('RUN --security=root x', 'security "root" is not valid');
  fails('RUN --mount=type=bind,from=$STAGE,target=/x x', "'from' doesn't support variable expansion, define alias stage instead");
  fails('RUN --privileged x', 'unknown flag: --privileged');
  fails('CMD --x=1 echo', 'unknown flag: --x');
});

it('parses ENV, LABEL and ARG with Docker\'s checks', () => {
  assert.deepEqual((step('ENV A=1 B="two words"') as { pairs: unknown }).pairs, [{ key: 'A', value: '1' }, { key: 'B', value: '"two words"' }]);
  assert.deepEqual((step('LABEL version="1.0"') as { pairs: unknown }).pairs, [{ key: 'version', value: '"1.0"' }]);
  assert.deepEqual((step('ARG user1 buildno=1 empty=') as { args: unknown }).args, [{ key: 'user1' }, { key: 'buildno', value: '1' }, { key: 'empty', value: '' }]);
  fails('ENV', 'ENV requires at least one argument');
  fails('ENV =x', 'ENV names can not be blank');
  fails('LABEL', 'LABEL requires at least one argument');
  fails('ARG', 'ARG requires at least one argument');
  fails('ARG =x', 'ARG names can not be blank');
});

it('parses COPY and ADD sources, destination and flags (JSON form too)', () => {
  assert.deepEqual(step('COPY --from=build --chown=55:mygroup --chmod=644 files* /somedir/'), {
    kind: 'COPY', line: 2, endLine: 2, source: 'COPY --from=build --chown=55:mygroup --chmod=644 files* /somedir/',
    sources: ['files*'], inline: [], dest: '/somedir/', from: 'build', chown: '55:mygroup', chmod: '644', link: false, parents: false, excludes: [],
  });
  const add = step('ADD --chown=1 --link ["a b", "c", "/d/"]');
  assert.deepEqual(add.kind === 'ADD' && [add.sources, add.dest, add.chown, add.link], [['a b', 'c'], '/d/', '1', true]);
  fails('COPY onlyone', 'COPY requires at least two arguments, but only one was provided. Destination could not be determined');
  fails('ADD ["x"]', 'ADD requires at least two arguments, but only one was provided. Destination could not be determined');
  fails('COPY --from a b', 'missing a value on flag: --from');
  fails('COPY --from=a --from=b c d', 'duplicate flag specified: --from');
  fails('COPY --link=maybe a b', 'expecting boolean value for flag --link, not: maybe');
  fails('ADD --from=x a b', 'unknown flag: --from');
});

it('names the first and last line of a continued instruction in errors', () => {
  assert.throws(() => parseDockerfile('FROM x\nCOPY \\\n  # comment\n  onlyone\nRUN y\n'), (e: unknown) => {
    assert.ok(e instanceof DockerfileError);
    assert.deepEqual([e.line, e.endLine, e.reason], [2, 4, 'COPY requires at least two arguments, but only one was provided. Destination could not be determined']);
    return true;
  });
});

it('parses single-argument instructions and lists', () => {
  assert.deepEqual(steps('USER patrick:staff\nWORKDIR /path to/dir\nSTOPSIGNAL SIGKILL\nMAINTAINER A <a@b.c>\nSHELL ["powershell", "-command"]').map((i) => {
    const { line: _l, endLine: _e, source: _s, ...rest } = i;
    return rest;
  }), [
    { kind: 'USER', user: 'patrick:staff' },
    { kind: 'WORKDIR', path: '/path to/dir' },
    { kind: 'STOPSIGNAL', signal: 'SIGKILL' },
    { kind: 'MAINTAINER', maintainer: 'A <a@b.c>' },
    { kind: 'SHELL', shell: ['powershell', '-command'] },
  ]);
  assert.deepEqual((step('EXPOSE 8080 80/udp 443') as { ports: unknown }).ports, ['443', '80/udp', '8080']);
  assert.deepEqual((step('VOLUME ["/data", " /var/log "]') as { paths: unknown }).paths, ['/data', '/var/log']);
  fails('USER', 'USER requires exactly one argument');
  fails('WORKDIR', 'WORKDIR requires exactly one argument');
  fails('EXPOSE', 'EXPOSE requires at least one argument');
  fails('VOLUME', 'VOLUME requires at least one argument');
  fails('VOLUME [""]', 'VOLUME specified can not be an empty string');
  fails('SHELL /bin/bash -c', 'SHELL requires the arguments to be in JSON form');
  fails('SHELL []', 'SHELL requires at least one argument');
});

it('parses HEALTHCHECK with durations in nanoseconds as Docker does', () => {
  const hc = step('HEALTHCHECK --interval=5m --timeout=3s --start-period=1m30s --start-interval=500ms --retries=3 \\\n  CMD curl -f http://localhost/ || exit 1');
  assert.deepEqual(hc.kind === 'HEALTHCHECK' && hc.health, {
    test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'],
    interval: 300e9, timeout: 3e9, startPeriod: 90e9, startInterval: 500e6, retries: 3,
  });
  const exec = step('healthcheck cmd ["/bin/check", "-q"]');
  assert.deepEqual(exec.kind === 'HEALTHCHECK' && exec.health.test, ['CMD', '/bin/check', '-q']);
  const none = step('HEALTHCHECK NONE');
  assert.deepEqual(none.kind === 'HEALTHCHECK' && none.health.test, ['NONE']);
  fails('HEALTHCHECK NONE x', 'HEALTHCHECK NONE takes no arguments');
  fails('HEALTHCHECK CMD', 'Missing command after HEALTHCHECK CMD');
  fails('HEALTHCHECK FOO x', 'Unknown type "FOO" in HEALTHCHECK (try CMD)');
  fails('HEALTHCHECK', 'HEALTHCHECK requires at least one argument');
  fails('HEALTHCHECK --interval=1us CMD x', 'Interval "interval" cannot be less than 1ms');
  fails('HEALTHCHECK --timeout=5 CMD x', 'time: missing unit in duration "5"');
  fails('HEALTHCHECK --retries=-1 CMD x', '--retries cannot be negative (-1)');
  fails('HEALTHCHECK --retries=x CMD x', 'strconv.ParseInt: parsing "x": invalid syntax');
});

it('parses Go durations', () => {
  assert.equal(parseGoDuration('0'), 0);
  assert.equal(parseGoDuration('1h15m30.918273645s'), 4530918273645);
  assert.equal(parseGoDuration('1.5h'), 5400e9);
  assert.equal(parseGoDuration('-2µs'), -2000);
  assert.equal(parseGoDuration('.5s'), 500e6);
  assert.throws(() => parseGoDuration(''), /time: invalid duration ""/);
  assert.throws(() => parseGoDuration('3d'), /time: unknown unit "d" in duration "3d"/);
  assert.throws(() => parseGoDuration('.s'), /time: invalid duration ".s"/);
});

it('keeps ONBUILD as an expression and refuses the triggers Docker refuses', () => {
  const ob = step('ONBUILD RUN /usr/local/bin/python-build --dir /app/src');
  assert.deepEqual(ob.kind === 'ONBUILD' && [ob.trigger, ob.expression], ['RUN', 'RUN /usr/local/bin/python-build --dir /app/src']);
  fails('ONBUILD ONBUILD RUN x', 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
  fails('ONBUILD FROM scratch', 'FROM isn\'t allowed as an ONBUILD trigger');
  fails('onbuild maintainer me', 'MAINTAINER isn\'t allowed as an ONBUILD trigger');
  fails('ONBUILD', 'ONBUILD requires at least one argument');
  const trig = parseTrigger('COPY --chown=app . /app');
  assert.deepEqual(trig.kind === 'COPY' && [trig.sources, trig.dest, trig.chown], [['.'], '/app', 'app']);
  assert.throws(() => parseTrigger('FOO x'), /unknown instruction: FOO/);
});

it('ignores flags where Docker does not parse them (ARG, STOPSIGNAL, HEALTHCHECK NONE)', () => {
  assert.deepEqual(steps('ARG --x=1 A\nSTOPSIGNAL --y 9\nHEALTHCHECK --z NONE').map((i) => i.kind), ['ARG', 'STOPSIGNAL', 'HEALTHCHECK']);
});
