// .dockerignore reading and matching, with the Docker documentation's examples and
// patternmatcher's rules (parent directories, last match wins, exceptions, walking).
import { it } from 'node:test';
import assert from 'node:assert/strict';
import {
  PatternMatcher, buildFilesToRemove, cleanPath, keepBuildFiles, parseDockerignore, type MatchInfo,
} from '../../../src/build/dockerfile/index.js';

const excluded = (patterns: string[], paths: string[]) => {
  const m = new PatternMatcher(patterns);
  return paths.filter((p) => m.matches(p));
};

it('reads the file: comments in column 1, blank lines, cleaning, leading / and ./ dropped', () => {
  const text = '\uFEFF# comment\r\n*/temp*\n\n  */*/temp*  \ntemp?\n/abs/path/\n./rel/./x/../y\n! /kept\n  # not a comment\n!\n';
  assert.deepEqual(parseDockerignore(text), ['*/temp*', '*/*/temp*', 'temp?', 'abs/path', 'rel/y', '!kept', '# not a comment', '!']);
  assert.throws(() => new PatternMatcher(parseDockerignore('!\n')), /illegal exclusion pattern: "!"/);
});

it('matches the documentation\'s example patterns', () => {
  const patterns = parseDockerignore('# comment\n*/temp*\n*/*/temp*\ntemp?\n');
  assert.deepEqual(
    excluded(patterns, ['somedir/temporary.txt', 'somedir/temp', 'somedir/subdir/temporary.txt', 'tempa', 'tempb', 'temp', 'temporary.txt', 'a/b/c/temp']),
    ['somedir/temporary.txt', 'somedir/temp', 'somedir/subdir/temporary.txt', 'tempa', 'tempb'],
  );
  assert.deepEqual(excluded(['**/*.go'], ['main.go', 'a/b/c.go', 'a/go', 'x.gox']), ['main.go', 'a/b/c.go']);
});

it('lets the last matching pattern win (the documentation\'s README examples)', () => {
  const md = ['README.md', 'README-secret.md', 'CHANGES.md', 'docs/guide.md', 'main.go'];
  assert.deepEqual(excluded(['*.md', '!README.md'], md), ['README-secret.md', 'CHANGES.md']);
  assert.deepEqual(excluded(['*.md', '!README*.md', 'README-secret.md'], md), ['README-secret.md', 'CHANGES.md']);
  assert.deepEqual(excluded(['*.md', 'README-secret.md', '!README*.md'], md), ['CHANGES.md']);
});

it('excludes everything below a matching directory, and exceptions can re-include inside it', () => {
  assert.deepEqual(excluded(['node_modules'], ['node_modules', 'node_modules/a/b.js', 'src/node_modules/x']), ['node_modules', 'node_modules/a/b.js']);
  assert.deepEqual(excluded(['**/node_modules'], ['node_modules/a', 'src/node_modules/x']), ['node_modules/a', 'src/node_modules/x']);
  assert.deepEqual(excluded(['dir/**'], ['dir', 'dir/a', 'dir/a/b']), ['dir/a', 'dir/a/b']);
  const m = new PatternMatcher(['docs', '!docs/keep.txt']);
  assert.deepEqual(['docs', 'docs/other.txt', 'docs/keep.txt'].map((p) => m.matches(p)), [true, true, false]);
  assert.equal(m.matches('.'), false); // the context itself is never excluded
});

it('uses Go filepath.Match syntax: ?, character classes, escapes; refuses bad patterns', () => {
  assert.deepEqual(excluded(['file[0-9].txt'], ['file1.txt', 'filea.txt']), ['file1.txt']);
  assert.deepEqual(excluded(['file[^0-9].txt'], ['file1.txt', 'filea.txt']), ['filea.txt']);
  assert.deepEqual(excluded(['a?c'], ['abc', 'a/c', 'a☺c']), ['abc', 'a☺c']);
  assert.deepEqual(excluded(['a\\*b'], ['a*b', 'axb']), ['a*b']);
  assert.deepEqual(excluded(['*.(x)+'], ['f.(x)+', 'f.xx']), ['f.(x)+']);
  for (const bad of ['[', 'a[', '[^bc', '[]a]', '[x-]', '[-x]', 'a\\']) {
    assert.throws(() => new PatternMatcher([bad]), /syntax error in pattern/, bad);
  }
});

it('tells a walker whether to descend into an excluded directory (Docker\'s literal-prefix rule)', () => {
  const m = new PatternMatcher(['vendor', '!vendor/keep', 'logs']);
  assert.equal(m.hasExclusions, true);
  assert.equal(m.decide('vendor', true), 'exclude-but-descend');
  assert.equal(m.decide('vendor/other', true), 'exclude');
  assert.equal(m.decide('vendor/keep', true), 'include');
  assert.equal(m.decide('logs', true), 'exclude');
  assert.equal(m.decide('src', true), 'include');
  // A wildcard exception does not make Docker descend.
  assert.equal(new PatternMatcher(['vendor', '!*/keep']).shouldDescend('vendor'), false);
  assert.equal(new PatternMatcher(['vendor']).shouldDescend('vendor'), false);
});

it('gives the same answers walking with parent results as matching whole paths', () => {
  const patterns = ['**/*.log', '!important/**', 'build', '!build/keep/*.txt', 'a/*/c'];
  const m = new PatternMatcher(patterns);
  const paths = ['x.log', 'important/y.log', 'build/keep/n.txt', 'build/keep/n.bin', 'build/out/z', 'a/b/c/d', 'a/b/d'];
  for (const path of paths) {
    let info: MatchInfo | undefined;
    let result = false;
    const parts = path.split('/');
    for (let i = 1; i <= parts.length; i++) ({ excluded: result, info } = m.matchesWithParent(parts.slice(0, i).join('/'), info));
    assert.equal(result, m.matches(path), path);
  }
  assert.deepEqual(excluded(patterns, paths), ['x.log', 'build/keep/n.bin', 'build/out/z', 'a/b/c/d']);
});

it('always sends the Dockerfile and .dockerignore, and the daemon removes them when ignored', () => {
  const patterns = ['*', '!src'];
  assert.deepEqual(keepBuildFiles(patterns), ['*', '!src', '!.dockerignore', '!Dockerfile']);
  assert.deepEqual(keepBuildFiles(patterns, 'docker/Dockerfile.prod'), ['*', '!src', '!.dockerignore', '!docker/Dockerfile.prod']);
  assert.deepEqual(keepBuildFiles(['*.tmp']), ['*.tmp']);
  assert.deepEqual(keepBuildFiles(patterns, 'Dockerfile', true), ['*', '!src', '!.dockerignore']);
  const kept = new PatternMatcher(keepBuildFiles(patterns));
  assert.deepEqual(['Dockerfile', '.dockerignore', 'src/a.c', 'other'].map((p) => kept.matches(p)), [false, false, false, true]);
  assert.deepEqual(buildFilesToRemove(patterns), ['.dockerignore', 'Dockerfile']);
  assert.deepEqual(buildFilesToRemove(['Dockerfile*'], './Dockerfile.dev'), ['Dockerfile.dev']);
  assert.deepEqual(buildFilesToRemove(['*.tmp']), []);
});

it('cleans paths like Go\'s path.Clean', () => {
  const cases: Array<[string, string]> = [['', '.'], ['a//b/./c/..', 'a/b'], ['/../x', '/x'], ['../../x', '../../x'], ['./', '.'], ['a/', 'a']];
  for (const [input, want] of cases) assert.equal(cleanPath(input), want, input);
});
