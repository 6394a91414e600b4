// containerd's filter syntax as the supervisor parses it: selectors, quoting, operators, "any of"
// across filter strings, and parse errors as invalid-argument errors that point at the input.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { labelField, parseFilters, type Adaptor } from '../../../src/supervisor/filters.js';

const image = (name: string, labels: Record<string, string> = {}): Adaptor => (path) => {
  if (path[0] === 'name') return name;
  if (path[0] === 'labels') return labelField(labels, path.slice(1));
  return undefined;
};

describe('containerd filters', () => {
  it('matches equality, inequality, presence and regular expressions', () => {
    const img = image('docker.io/library/busybox:latest', { 'io.x/team': 'qa', tier: '1' });
    const t = (f: string) => parseFilters([f])(img);
    assert.equal(t('name==docker.io/library/busybox:latest'), true);
    assert.equal(t('name!=docker.io/library/busybox:latest'), false);
    assert.equal(t('name~=busybox'), true);
    assert.equal(t('name~=/^docker.io\\/library/'), true, '/…/ quotes, with \\/ for a slash');
    assert.throws(() => t('name~=/^docker\\.io/'), /illegal escape sequence/, 'as containerd: only Go escapes inside quotes');
  });

  it('takes quoted fields and values, and label keys with dots', () => {
    const img = image('a', { 'io.x/team': 'qa', 'a.b': 'c d' });
    const t = (f: string) => parseFilters([f])(img);
    assert.equal(t('labels."io.x/team"==qa'), true);
    assert.equal(t('labels.a.b=="c d"'), true, 'a dotted path is the label "a.b"');
    assert.equal(t('labels."io.x/team"'), true, 'presence');
    assert.equal(t('labels.missing'), false);
    assert.equal(t('labels.missing!=x'), true, 'an absent field differs from any value');
    assert.equal(t('name~=|^a$|'), true, 'regular expressions may use |…| quotes');
  });

  it('needs every selector of a filter, and any one filter', () => {
    const img = image('a', { tier: '1' });
    assert.equal(parseFilters(['name==a,labels.tier==1'])(img), true);
    assert.equal(parseFilters(['name==a,labels.tier==2'])(img), false);
    assert.equal(parseFilters(['name==b', 'labels.tier==1'])(img), true);
    assert.equal(parseFilters([])(img), true);
    assert.equal(parseFilters(['name==b', ''])(img), true, 'an empty filter matches everything');
    assert.equal(parseFilters([' name == a , labels.tier == 1 '])(img), true, 'spaces around tokens');
  });

  it('refuses malformed filters with an invalid-argument error that shows where', () => {
    const bad: Array<[string, RegExp]> = [
      ['name=a', /\[name >\|=\|< a\]: unsupported operator "="/],
      ['labels."open', /quoted literal not terminated/],
      ['name==', /expected value or quoted/],
      ['name==a b', /unexpected input: b/],
      ['.name', /expected field or quoted/],
      ['name~=(', /invalid regular expression/],
      ['name=="\\q"', /illegal escape sequence/],
    ];
    for (const [f, want] of bad) {
      assert.throws(() => parseFilters([f]), (err: Error & { code?: string }) => err.code === 'INVALID_ARGUMENT' && want.test(err.message) && /^filters: parse error: /.test(err.message), f);
    }
  });
});
