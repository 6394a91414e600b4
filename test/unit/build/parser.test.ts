// The Dockerfile parser against Docker's rules: directives, comments, continuations, keywords,
// flags, exec vs shell form, per-keyword argument splitting, and errors that name their line.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { DockerfileError, parse, warningLines, type Node } from '../../../src/build/dockerfile/index.js';

const nodes = (text: string): Node[] => parse(text).nodes;
const brief = (n: Node) => ({ command: n.command, args: n.args, json: n.json, lines: [n.startLine, n.endLine] });

it('reads keywords case-insensitively and keeps each node\'s lines', () => {
  const ns = nodes('# a comment\n\nfrom busybox\n  Run echo hi\n\nCMD ["sh"]\n');
  assert.deepEqual(ns.map(brief), [
    { command: 'from', args: ['busybox'], json: false, lines: [3, 3] },
    { command: 'run', args: ['echo hi'], json: false, lines: [4, 4] },
    { command: 'cmd', args: ['sh'], json: true, lines: [6, 6] },
  ]);
  assert.equal(ns[1]?.keyword, 'Run');
  // As in Docker, a blank line does not detach a comment; an instruction or a bare '#' does.
  assert.deepEqual(ns[0]?.comments, ['a comment']);
  assert.deepEqual(nodes('# x\n#\n# y\nFROM a\nRUN b\n').map((n) => n.comments), [['y'], []]);
});

it('joins continuation lines, skipping comment lines inside them, as Docker does', () => {
  // From the Dockerfile reference: comment lines are removed before the instruction is run.
  const ns = nodes('FROM busybox\nRUN echo hello \\\n# comment\nworld\nRUN a \\\n    b \\\n    c\n');
  assert.deepEqual(ns.map(brief).slice(1), [
    { command: 'run', args: ['echo hello world'], json: false, lines: [2, 4] },
    { command: 'run', args: ['a     b     c'], json: false, lines: [5, 7] },
  ]);
});

it('warns about empty continuation lines, with Docker\'s text', () => {
  const r = parse('FROM busybox\nRUN echo a \\\n\n  b\n');
  assert.equal(r.nodes[1]?.args[0], 'echo a   b');
  assert.deepEqual(r.warnings, [{ line: 4, message: 'Empty continuation line found in: RUN echo a   b' }]);
  assert.deepEqual(warningLines(r.warnings), [
    '[WARNING]: Empty continuation line found in: RUN echo a   b',
    '[WARNING]: Empty continuation lines will become errors in a future release.',
  ]);
});

it('does not treat an escaped escape token as a continuation; a trailing one at EOF ends the file', () => {
  const ns = nodes('FROM busybox\nRUN echo \\\\\nRUN x \\');
  assert.deepEqual(ns.map((n) => n.args[0]).slice(1), ['echo \\\\', 'x']);
});

it('honours the escape directive (backtick), and records syntax without acting on it', () => {
  // The Windows example of the Dockerfile reference.
  const r = parse('# syntax=docker/dockerfile:1\n# escape=`\n\nFROM microsoft/nanoserver\nCOPY testfile.txt c:\\\nRUN dir c:\\\nRUN a `\n  b\n');
  assert.equal(r.escapeToken, '`');
  assert.deepEqual(r.directives, { escape: '`', syntax: 'docker/dockerfile:1' });
  assert.deepEqual(r.nodes.map((n) => n.args), [['microsoft/nanoserver'], ['testfile.txt', 'c:\\'], ['dir c:\\'], ['a   b']]);
});

it('stops looking for directives after the first comment, blank line or instruction', () => {
  assert.equal(parse('# comment\n# escape=`\nFROM x\nRUN a `\nb\n').escapeToken, '\\');
  assert.equal(parse('\n# escape=`\nFROM x\n').escapeToken, '\\');
  assert.equal(parse('# unknowndirective=foo\n# escape=`\nFROM x\n').escapeToken, '\\');
  assert.equal(parse('#   ESCAPE  =  `  \nFROM x\n').escapeToken, '`');
});

it('refuses a bad or repeated directive, naming the line', () => {
  assert.throws(() => parse('# escape=x\nFROM busybox\n'), {
    message: "dockerfile parse error line 1: invalid escape token 'x' does not match ` or \\",
  });
  assert.throws(() => parse('# escape=`\n# escape=\\\nFROM busybox\n'), (e: unknown) => e instanceof DockerfileError && e.line === 2 && /only one escape parser directive can be used/.test(e.message));
});

it('tells exec form (a JSON array of strings) from shell form', () => {
  const ns = nodes(`FROM x
CMD ["echo", "a b"]
CMD [ "echo" ] trailing
CMD ['single', 'quotes']
ENTRYPOINT ["unterminated"
RUN []
COPY ["a b", "c"]
VOLUME ["/data", "/logs"]
VOLUME /a /b
`);
  assert.deepEqual(ns.slice(1).map((n) => [n.args, n.json]), [
    [['echo', 'a b'], true],
    [['[ "echo" ] trailing'], false],
    [["['single', 'quotes']"], false],
    [['["unterminated"'], false],
    [[], true],
    [['a b', 'c'], true],
    [['/data', '/logs'], true],
    [['/a', '/b'], false],
  ]);
  assert.throws(() => parse('FROM x\nCMD ["a", 1]\n'), {
    message: 'dockerfile parse error line 2: when using JSON array syntax, arrays must be comprised of strings only',
  });
});

it('splits leading flags off, with quotes, escapes and a -- terminator', () => {
  const ns = nodes('FROM --platform=linux/amd64 busybox AS b\nCOPY --from=b --chown="a b" --link /x /y\nCOPY -- --x /y\nRUN --mount=type=cache,target=/c echo\n');
  assert.deepEqual(ns.map((n) => [n.flags, n.args]), [
    [['--platform=linux/amd64'], ['busybox', 'AS', 'b']],
    [['--from=b', '--chown=a b', '--link'], ['/x', '/y']],
    [[], ['--x', '/y']],
    [['--mount=type=cache,target=/c'], ['echo']],
  ]);
});

it('splits ENV/LABEL into name/value pairs in both forms, keeping quotes for expansion', () => {
  const ns = nodes('FROM x\nENV MY_NAME="John Doe" MY_DOG=Rex\\ The\\ Dog\nENV MY_CAT fluffy  cat\nLABEL "com.example.vendor"="ACME Incorporated" version=1.0\n');
  assert.deepEqual(ns[1]?.pairs, [{ key: 'MY_NAME', value: '"John Doe"' }, { key: 'MY_DOG', value: 'Rex\\ The\\ Dog' }]);
  assert.equal(ns[1]?.legacy, false);
  assert.deepEqual(ns[2]?.pairs, [{ key: 'MY_CAT', value: 'fluffy  cat' }]);
  assert.equal(ns[2]?.legacy, true);
  assert.deepEqual(ns[3]?.pairs, [{ key: '"com.example.vendor"', value: '"ACME Incorporated"' }, { key: 'version', value: '1.0' }]);
  assert.throws(() => parse('FROM x\nENV a=1 b\n'), { message: 'dockerfile parse error line 2: Syntax error - can\'t find = in "b". Must be of the form: name=value' });
  assert.throws(() => parse('FROM x\nENV onlyname\n'), { message: 'dockerfile parse error line 2: ENV must have two arguments' });
});

it('parses ARG words, HEALTHCHECK type + command and ONBUILD\'s wrapped instruction', () => {
  const ns = nodes('ARG a "b=c d" e=\'f g\'\nFROM x\nHEALTHCHECK --interval=5s CMD ["curl", "-f", "http://localhost"]\nONBUILD ADD . /app/src\n');
  assert.deepEqual(ns[0]?.args, ['a', '"b=c d"', "e='f g'"]);
  assert.deepEqual([ns[2]?.flags, ns[2]?.args, ns[2]?.json], [['--interval=5s'], ['CMD', 'curl', '-f', 'http://localhost'], true]);
  assert.deepEqual([ns[3]?.args, ns[3]?.sub?.command, ns[3]?.sub?.args], [['ADD', '.', '/app/src'], 'add', ['.', '/app/src']]);
});

it('strips a BOM and CRLF line endings', () => {
  const ns = nodes('\uFEFFFROM busybox\r\nRUN echo a \\\r\n  b\r\n');
  assert.deepEqual(ns.map((n) => n.args), [['busybox'], ['echo a   b']]);
});

it('refuses a file without instructions', () => {
  assert.throws(() => parse('# only a comment\n\n'), { message: 'dockerfile parse error line 2: file with no instructions' });
  assert.throws(() => parse(''), /file with no instructions/);
});
