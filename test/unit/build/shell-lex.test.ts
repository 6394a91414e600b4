// Variable substitution with Docker's lexer rules, and which instructions get expanded.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DockerfileError, ShellLex, envFromList, expandInstruction, parseDockerfile, type Instruction,
} from '../../../src/build/dockerfile/index.js';

const lex = new ShellLex('\\');
const env = envFromList(['PWD=/home', 'EMPTY=', 'NAME=world', 'SPACE=a  b', 'PATHV=/usr/local/lib/file.tar.gz']);
const word = (w: string) => lex.processWord(w, env);

it('expands $VAR and ${VAR}, leaves a lone $ alone', () => {
  assert.equal(word('hello $NAME'), 'hello world');
  assert.equal(word('${NAME}s'), 'worlds');
  assert.equal(word('$UNSET-x'), '-x');
  assert.equal(word('cost: $ 5 $.'), 'cost: $ 5 $.');
  assert.equal(word('he$1x'), 'hex');
});

it('supports the ${VAR:-word} family, with and without the colon', () => {
  const cases: Array<[string, string]> = [
    ['${NAME:-def}', 'world'], ['${EMPTY:-def}', 'def'], ['${UNSET:-def}', 'def'],
    ['${NAME-def}', 'world'], ['${EMPTY-def}', ''], ['${UNSET-def}', 'def'],
    ['${NAME:+alt}', 'alt'], ['${EMPTY:+alt}', ''], ['${UNSET:+alt}', ''],
    ['${NAME+alt}', 'alt'], ['${EMPTY+alt}', 'alt'], ['${UNSET+alt}', ''],
    ['${UNSET:-$NAME}', 'world'], ['${UNSET:-${NAME:+x}y}', 'xy'],
    ['${NAME:?boom}', 'world'], ['${EMPTY?boom}', ''],
    ['${PATHV#*/}', 'usr/local/lib/file.tar.gz'], ['${PATHV##*/}', 'file.tar.gz'],
    ['${PATHV%.*}', '/usr/local/lib/file.tar'], ['${PATHV%%.*}', '/usr/local/lib/file'],
    ['${NAME/o/0}', 'w0rld'], ['${PATHV//\\//_}', '_usr_local_lib_file.tar.gz'],
  ];
  for (const [w, want] of cases) assert.equal(word(w), want, w);
});

it('fails ${VAR:?msg} and bad substitutions with Docker\'s messages', () => {
  assert.throws(() => word('${UNSET:?need it}'), { message: 'failed to process "${UNSET:?need it}": UNSET: need it' });
  assert.throws(() => word('${EMPTY:?}'), { message: 'failed to process "${EMPTY:?}": EMPTY: is not allowed to be empty' });
  assert.throws(() => word('${UNSET?}'), { message: 'failed to process "${UNSET?}": UNSET: is not allowed to be unset' });
  assert.throws(() => word('${}'), /syntax error: bad substitution/);
  assert.throws(() => word('${NAME'), /syntax error: missing '}'/);
  assert.throws(() => word('${NAME:-x'), /syntax error: missing '}'/);
  assert.throws(() => word('${NAME^}'), /unsupported modifier \(\^\) in substitution/);
  assert.throws(() => word('"open'), /unexpected end of statement while looking for matching double-quote/);
  assert.throws(() => word("'open"), /unexpected end of statement while looking for matching single-quote/);
  assert.throws(() => word('${UNSET:?x}'), DockerfileError);
});

it('treats quotes and escapes as Docker does', () => {
  assert.equal(word("'$NAME'"), '$NAME'); // single quotes are literal
  assert.equal(word('"$NAME"'), 'world'); // double quotes expand
  assert.equal(word('\\$NAME'), '$NAME'); // escaped $ (the reference's COPY \\$FOO /quux)
  assert.equal(word('"\\$NAME \\"q\\" \\a"'), '$NAME "q" \\a'); // in "", \ escapes only " $ and \
  assert.equal(word('he\\\'llo'), "he'llo");
  assert.equal(word('abc\\tdef'), 'abctdef');
  assert.equal(word('hello\\'), 'hello');
  const tick = new ShellLex('`');
  assert.equal(tick.processWord('`$NAME c:\\dir', env), '$NAME c:\\dir');
});

it('splits words after expansion; quotes keep spaces', () => {
  assert.deepEqual(lex.processWords('x${SPACE}y', env), ['xa', 'by']);
  assert.deepEqual(lex.processWords('"${SPACE}" z', env), ['a  b', 'z']);
  assert.deepEqual(lex.processWords('  one   two ', env), ['one', 'two']);
  assert.deepEqual(lex.processWords('a${UNSET:-b}c d', env), ['abc', 'd']);
  assert.equal(lex.processWord('x${SPACE}y', env), 'xa  by');
  const r = lex.process('$NAME $NOPE', env);
  assert.deepEqual([[...r.matched], [...r.unmatched]], [['NAME'], ['NOPE']]);
});

it('expands exactly the instructions Docker expands, each against the env before it', () => {
  // The Dockerfile reference's environment replacement example.
  const df = parseDockerfile(`FROM busybox
ENV FOO=/bar
WORKDIR \${FOO}
ADD . $FOO
COPY \\$FOO /quux
ENV abc=bye def=$abc
USER \${user:-nobody}
VOLUME $FOO /x
EXPOSE $PORTS 22
STOPSIGNAL $SIG
LABEL "a $abc"=$FOO
ARG ver=$abc
COPY --from=$abc --chown=$abc:$abc --chmod=$M a /b
RUN echo $FOO
CMD echo $FOO
ENTRYPOINT ["$FOO"]
HEALTHCHECK CMD echo $FOO
SHELL ["$FOO"]
ONBUILD RUN echo $FOO
MAINTAINER $FOO
`);
  const vars = envFromList(['FOO=/bar', 'abc=hello', 'PORTS=80 443/udp', 'SIG=SIGTERM', 'M=755']);
  const out = (df.stages[0]?.instructions ?? []).map((i) => expandInstruction(i, vars));
  const pick = (i: Instruction): unknown => {
    const { line: _l, endLine: _e, source: _s, kind, ...rest } = i;
    return [kind, rest];
  };
  assert.deepEqual(out.map(pick), [
    ['ENV', { pairs: [{ key: 'FOO', value: '/bar' }] }],
    ['WORKDIR', { path: '/bar' }],
    ['ADD', { sources: ['.'], inline: [], dest: '/bar', link: false, excludes: [] }],
    ['COPY', { sources: ['$FOO'], inline: [], dest: '/quux', link: false, parents: false, excludes: [] }],
    // def gets the abc from before this line ("hello"), as the reference says.
    ['ENV', { pairs: [{ key: 'abc', value: 'bye' }, { key: 'def', value: 'hello' }] }],
    ['USER', { user: 'nobody' }],
    ['VOLUME', { paths: ['/bar', '/x'] }],
    // Docker sorts the ports as written, then expands (and splits) each.
    ['EXPOSE', { ports: ['80', '443/udp', '22'] }],
    ['STOPSIGNAL', { signal: 'SIGTERM' }],
    ['LABEL', { pairs: [{ key: 'a hello', value: '/bar' }] }],
    ['ARG', { args: [{ key: 'ver', value: 'hello' }] }],
    ['COPY', { sources: ['a'], inline: [], dest: '/b', from: '$abc', chown: 'hello:hello', chmod: '755', link: false, parents: false, excludes: [] }],
    ['RUN', { cmd: { args: ['echo $FOO'], prependShell: true }, mounts: [], devices: [], heredocs: [] }],
    ['CMD', { cmd: { args: ['echo $FOO'], prependShell: true } }],
    ['ENTRYPOINT', { cmd: { args: ['$FOO'], prependShell: false } }],
    ['HEALTHCHECK', { health: { test: ['CMD-SHELL', 'echo $FOO'], interval: 0, timeout: 0, startPeriod: 0, startInterval: 0, retries: 0 } }],
    ['SHELL', { shell: ['$FOO'] }],
    ['ONBUILD', { trigger: 'RUN', expression: 'RUN echo $FOO' }],
    ['MAINTAINER', { maintainer: '$FOO' }],
  ]);
});

it('reports an expansion error with the instruction\'s line but Docker\'s message', () => {
  const df = parseDockerfile('FROM busybox\n\nWORKDIR ${DIR:?set DIR}\n');
  const instr = df.stages[0]?.instructions[0] as Instruction;
  assert.throws(() => expandInstruction(instr, new Map()), (e: unknown) => {
    assert.ok(e instanceof DockerfileError);
    assert.equal(e.message, 'failed to process "${DIR:?set DIR}": DIR: set DIR');
    assert.equal(e.line, 3);
    return true;
  });
});

it('uses the escape directive when expanding', () => {
  const df = parseDockerfile('# escape=`\nFROM x\nWORKDIR `$HOME\\dir\n');
  const instr = df.stages[0]?.instructions[0] as Instruction;
  assert.deepEqual(expandInstruction(instr, envFromList(['HOME=h']), df.escapeToken), { ...instr, path: '$HOME\\dir' });
});
