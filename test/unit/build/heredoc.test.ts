// Heredocs as BuildKit's parser reads them (its parser_heredoc_test.go cases): which words open
// one, the bodies with their lines, <<- tab stripping, quotes turning expansion off, several
// documents on one line, COPY's inline files, ONBUILD keeping the bodies, and how RUN runs them.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DockerfileError, StageVariables, expandInstruction, heredocsInLine, parse, parseDockerfile, parseHeredocWord, parseTrigger, planBuild, runWithHeredocs,
  type Instruction,
} from '../../../src/build/dockerfile/index.js';

const docs = (text: string) => parse(text).nodes.map((n) => n.heredocs.map((h) => ({ name: h.name, content: h.content, expand: h.expand, chomp: h.chomp })));

it('finds the heredoc words BuildKit finds', () => {
  for (const w of ['<<EOF', "<<'EOF'", '<<"EOF"', '<<-EOF', "<<-'EOF'", '<<-"EOF"', '<<EO"F"', '<< EOF', '<<- EOF']) assert.equal(parseHeredocWord(w)?.name, 'EOF', w);
  for (const w of ['', 'EOF', '<<', '<<-', '<EOF', '<<<EOF', '<<EOF sh']) assert.equal(parseHeredocWord(w), undefined, w);
  for (const w of ["<<'EOF", '<<"EOF']) assert.throws(() => parseHeredocWord(w), w);
  assert.deepEqual(heredocsInLine('RUN <<EOF <<EOF2').map((h) => h.name), ['EOF', 'EOF2']);
  assert.deepEqual(heredocsInLine('RUN 4<<EOF').map((h) => [h.name, h.fd]), [['EOF', 4]]);
  assert.deepEqual(heredocsInLine('RUN <<  EOF  > foo').map((h) => h.name), ['EOF']);
  assert.deepEqual(heredocsInLine('RUN << -EOF').map((h) => h.name), ['-EOF']);
  for (const line of ["RUN '<<EOF'", 'RUN "<<EOF"', 'RUN cat <<< "x"', 'RUN echo $((1<<2))']) assert.deepEqual(heredocsInLine(line), [], line);
});

it('reads bodies up to their terminators, with expansion off for a quoted delimiter', () => {
  const text = [
    'FROM alpine', 'ENV NAME=me', 'USER <<INVALID', 'INVALID',
    'RUN <<EMPTY', 'EMPTY',
    'RUN <<-UNINDENT', '\tbaz', '\tquux', '\tUNINDENT',
    "RUN <<-'NOEXPAND'", "\tdon't expand $NAME", 'NOEXPAND',
    'RUN <<COMMENT', '# internal comment', 'echo foo # trailing', 'COMMENT',
    'COPY <<X <<Y /dest', 'Y', 'X', 'X', 'Y',
    "RUN <<eo'f'", 'echo foo', 'eof',
    "RUN <<'e'o\\'f", 'echo foo', "eo'f",
    'RUN ["cat", "<<EOF"]',
    'RUN echo "<<EOF"',
  ].join('\n');
  assert.deepEqual(docs(text), [
    [], [], [], [], // FROM, ENV, USER <<INVALID (no heredocs for USER), INVALID read as an instruction
    [{ name: 'EMPTY', content: '', expand: true, chomp: false }],
    [{ name: 'UNINDENT', content: '\tbaz\n\tquux\n', expand: true, chomp: true }],
    [{ name: 'NOEXPAND', content: "\tdon't expand $NAME\n", expand: false, chomp: true }],
    [{ name: 'COMMENT', content: '# internal comment\necho foo # trailing\n', expand: true, chomp: false }],
    [{ name: 'X', content: 'Y\n', expand: true, chomp: false }, { name: 'Y', content: 'X\n', expand: true, chomp: false }],
    [{ name: 'eof', content: 'echo foo\n', expand: false, chomp: false }],
    [{ name: "eo'f", content: 'echo foo\n', expand: false, chomp: false }],
    [], [],
  ]);
  const ns = parse('FROM a\nRUN <<EOF\nx\nEOF\nRUN b\n').nodes;
  assert.deepEqual(ns.map((n) => [n.command, n.startLine, n.endLine]), [['from', 1, 1], ['run', 2, 4], ['run', 5, 5]]);
  assert.throws(() => parse('FROM a\nRUN <<EOF\necho hi\n'), (e: unknown) => e instanceof DockerfileError && e.line === 2 && /unterminated heredoc/.test(e.message));
});

it('runs a bare heredoc as the script, a "#!" one as a program, others through the shell', () => {
  const run = (text: string) => {
    const i = parseDockerfile(`FROM a\n${text}\n`).stages[0]!.instructions[0] as Extract<Instruction, { kind: 'RUN' }>;
    return runWithHeredocs(i.cmd, i.heredocs);
  };
  assert.deepEqual(run('RUN <<EOF\necho a\necho b\nEOF'), { args: ['echo a\necho b\n'] });
  assert.deepEqual(run('RUN <<-EOF\n\techo a\n\tEOF'), { args: ['echo a\n'] });
  assert.deepEqual(run('RUN <<EOF\n#!/bin/awk -f\nBEGIN { print 1 }\nEOF'), { args: ['/dev/pipes/EOF'], script: { name: 'EOF', data: '#!/bin/awk -f\nBEGIN { print 1 }\n' } });
  // a command reading the document: the shell gets the line, the body and the terminator
  assert.deepEqual(run('RUN python3 <<EOF\nprint(1)\nEOF'), { args: ['python3 <<EOF\nprint(1)\nEOF'] });
  assert.deepEqual(run('RUN cat <<A >a && cat <<-"B" >b\none\nA\n\ttwo\n\tB'), { args: ['cat <<A >a && cat <<-"B" >b\none\nA\n\ttwo\nB'] });
  assert.deepEqual(run('RUN echo hi'), { args: ['echo hi'] });
});

it('makes COPY heredocs inline files, expanded unless the delimiter is quoted', () => {
  const df = parseDockerfile('FROM a\nARG WHO=you\nCOPY <<one.txt <<-"two" /dst/\nhi $WHO "q"\none.txt\n\tbye $WHO\n\ttwo\n');
  const plan = planBuild(df);
  const vars = new StageVariables(plan.args, []);
  vars.apply(df.stages[0]!.instructions[0] as Extract<Instruction, { kind: 'ARG' }>);
  const copy = expandInstruction(df.stages[0]!.instructions[1]!, vars.expansionEnv()) as Extract<Instruction, { kind: 'COPY' }>;
  assert.deepEqual([copy.sources, copy.dest, copy.inline], [[], '/dst/', [
    { name: 'one.txt', data: 'hi you "q"\n', expand: true },
    { name: 'two', data: 'bye $WHO\n', expand: false },
  ]]);
  assert.throws(() => parseDockerfile('FROM a\nCOPY x <<EOF\nEOF\n'), /COPY cannot accept a heredoc as a destination/);
});

it('keeps an ONBUILD trigger\'s heredoc bodies in the stored expression', () => {
  const onbuild = parseDockerfile('FROM a\nONBUILD RUN <<EOF\necho hi\nEOF\n').stages[0]!.instructions[0] as Extract<Instruction, { kind: 'ONBUILD' }>;
  assert.equal(onbuild.expression, 'RUN <<EOF\necho hi\nEOF');
  const again = parseTrigger(onbuild.expression) as Extract<Instruction, { kind: 'RUN' }>;
  assert.deepEqual(again.heredocs.map((h) => h.content), ['echo hi\n']);
});
