// The Go-template subset of --format: expected outputs are what Go's text/template (with docker's
// functions) prints for the same template and data.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dockerTemplate } from '../../../src/cli/template/docker-funcs.js';
import { sprintf } from '../../../src/cli/template/exec.js';
import { renderItems, renderOne, resolveFormat } from '../../../src/cli/output/format.js';

const data = {
  Id: 'abc',
  Name: '/web',
  State: { Status: 'running', Pid: 42, Running: true, ExitCode: 0 },
  Config: { Image: 'busybox', Env: ['A=1', 'PATH=/bin'], Cmd: ['sleep', '10'], Labels: { 'com.x': 'y', a: 'b' }, Entrypoint: null },
  NetworkSettings: { IPAddress: '', Ports: {} },
  Mounts: [],
};
const run = (t: string, d: unknown = data) => dockerTemplate(t).execute(d);

describe('templates', () => {
  it('prints fields, nested fields and Go values', () => {
    assert.equal(run('{{.State.Status}}'), 'running');
    assert.equal(run('{{.Config.Image}}|{{.NetworkSettings.IPAddress}}|'), 'busybox||');
    assert.equal(run('{{.State.Pid}}'), '42');
    assert.equal(run('{{.State.Running}}'), 'true');
    assert.equal(run('{{.Config.Env}}'), '[A=1 PATH=/bin]');
    assert.equal(run('{{.Config.Labels}}'), 'map[a:b com.x:y]');
    assert.equal(run('{{.Missing}}'), '<no value>');
    assert.equal(run('{{.Config.Entrypoint}}'), '<nil>');
    assert.equal(run('{{.Mounts}}'), '[]');
    assert.equal(run('{{.}}', 'plain'), 'plain');
  });

  it('has json, join, split, upper, lower, title, pad, truncate, println, printf', () => {
    assert.equal(run('{{json .Config.Cmd}}'), '["sleep","10"]');
    assert.equal(run('{{json .State}}'), '{"Status":"running","Pid":42,"Running":true,"ExitCode":0}');
    assert.equal(run('{{json .Config.Entrypoint}}'), 'null');
    assert.equal(run('{{json "a<b"}}'), '"a<b"', 'no HTML escaping, as docker sets SetEscapeHTML(false)');
    assert.equal(run('{{join .Config.Env ","}}'), 'A=1,PATH=/bin');
    assert.equal(run('{{index (split "a:b:c" ":") 1}}'), 'b');
    assert.equal(run('{{upper .Name}} {{lower "ABC"}} {{title "hello big world"}}'), '/WEB abc Hello Big World');
    assert.equal(run('[{{pad "x" 2 1}}]'), '[  x ]');
    assert.equal(run('{{truncate "abcdef" 3}}{{truncate "ab" 3}}'), 'abcab');
    assert.equal(run('{{println "a" 1 true}}'), 'a 1 true\n');
    assert.equal(run('{{printf "%s=%d %q %5.2f|%-4s|%04d %v %t %x %%" "k" 7 "q" 3.14159 "ab" 42 .Config.Env true 255}}'), 'k=7 "q"  3.14|ab  |0042 [A=1 PATH=/bin] true ff %');
    assert.equal(run('{{print "a" "b" 1 2}}'), 'ab1 2');
    assert.equal(run('{{len .Config.Env}} {{len .Config.Labels}} {{len "four"}}'), '2 2 4');
  });

  it('pipes pass the value as the last argument', () => {
    assert.equal(run('{{.Name | upper}}'), '/WEB');
    assert.throws(() => run('{{.Config.Env | join ","}}'), /error calling join/, 'the piped value is the last argument');
    assert.equal(run('{{.State.Pid | printf "pid=%d"}}'), 'pid=42');
    assert.equal(run('{{"a,b" | split "," | len}}'), '1', 'split "," "a,b" splits "," by "a,b"');
    assert.equal(run('{{(index .Config.Env 0) | lower}}'), 'a=1');
  });

  it('has if/else if/else, with, range with else, variables, comparisons', () => {
    assert.equal(run('{{if eq .State.Status "running"}}up{{else}}down{{end}}'), 'up');
    assert.equal(run('{{if .Config.Entrypoint}}e{{else if .Config.Cmd}}c{{else}}n{{end}}'), 'c');
    assert.equal(run('{{if and .State.Running (gt .State.Pid 10)}}yes{{end}}'), 'yes');
    assert.equal(run('{{if or .Config.Entrypoint .Mounts}}x{{else}}none{{end}}'), 'none');
    assert.equal(run('{{if not .State.ExitCode}}zero{{end}}'), 'zero');
    assert.equal(run('{{if eq .State.Status "exited" "running"}}one of{{end}}'), 'one of');
    assert.equal(run('{{if ne .Name "/x"}}ne{{end}} {{if lt 1 2}}lt{{end}} {{if ge 2 2}}ge{{end}}'), 'ne lt ge');
    assert.equal(run('{{with .State}}{{.Status}}/{{.Pid}}{{end}}'), 'running/42');
    assert.equal(run('{{with .Config.Entrypoint}}x{{else}}no entrypoint{{end}}'), 'no entrypoint');
    assert.equal(run('{{range .Config.Env}}[{{.}}]{{end}}'), '[A=1][PATH=/bin]');
    assert.equal(run('{{range $i, $e := .Config.Env}}{{$i}}:{{$e}} {{end}}'), '0:A=1 1:PATH=/bin ');
    assert.equal(run('{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}'), 'a=b;com.x=y;', 'maps range in key order');
    assert.equal(run('{{range .Mounts}}m{{else}}no mounts{{end}}'), 'no mounts');
    assert.equal(run('{{range .Config.Env}}{{if eq . "A=1"}}{{continue}}{{end}}{{.}}{{break}}{{end}}'), 'PATH=/bin');
    assert.equal(run('{{$n := .Name}}{{with .State}}{{$n}} {{.Status}} {{$.Config.Image}}{{end}}'), '/web running busybox');
    assert.equal(run('{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}'), '2');
    assert.equal(run('{{index .Config.Labels "com.x"}} {{index .Config.Env 1}}'), 'y PATH=/bin');
    assert.equal(run('[{{index .Config.Labels "missing"}}][{{index .Config.Entrypoint "k"}}]'), '[][]', 'maps are typed in docker: the zero value');
  });

  it('trims around {{- and -}}, and skips comments', () => {
    assert.equal(run('a  {{- "b" -}}  c'), 'abc');
    assert.equal(run('{{range .Config.Env -}}\n  {{.}}\n{{- end}}'), 'A=1PATH=/bin');
    assert.equal(run('x{{/* a comment */}}y{{- /* trimmed */ -}} z'), 'xyz');
  });

  it('calls methods with arguments (a row context\'s .Label "k")', () => {
    const row = { Labels: 'a=b', Label: (k: string) => (k === 'a' ? 'b' : '') };
    assert.equal(run('{{.Label "a"}}|{{.Label "z"}}', row), 'b|');
  });

  it('reports errors like Go', () => {
    assert.throws(() => dockerTemplate('{{nosuch .}}'), /function "nosuch" not defined/);
    assert.throws(() => dockerTemplate('{{if .A}}x'), /unexpected EOF/);
    assert.throws(() => dockerTemplate('{{.A'), /unclosed action/);
    assert.throws(() => dockerTemplate('{{end}}'), /unexpected \{\{end\}\}/);
    assert.throws(() => run('{{.State.Status.X}}'), /can't evaluate field X in type string/);
    assert.throws(() => run('{{.Nope.X}}'), /nil pointer evaluating interface \{\}\.X/);
    assert.throws(() => run('{{index .Config.Env 5}}'), /index out of range: 5/);
    assert.throws(() => run('{{$nope}}'), /undefined variable: \$nope/);
  });

  it('sprintf handles missing and extra operands as Go does', () => {
    assert.equal(sprintf('%s %s', 'a'), 'a %!s(MISSING)');
    assert.equal(sprintf('%d', 'x'), '%!d(string=x)');
    assert.equal(sprintf('a', 1), 'a%!(EXTRA int=1)');
  });
});

describe('--format rendering', () => {
  const rows = [
    { ID: 'abc123', Names: 'web', Status: 'Up 3 seconds' },
    { ID: 'def4567890ab', Names: 'a-much-longer-name', Status: 'Exited (0) 2 minutes ago' },
  ];
  const headers = { ID: 'CONTAINER ID', Names: 'NAMES', Status: 'STATUS' };

  it('aligns table columns with a header, like the tabwriter docker uses', () => {
    assert.equal(renderItems('table {{.ID}}\t{{.Names}}\t{{.Status}}', rows, headers),
      'CONTAINER ID   NAMES                STATUS\n' +
      'abc123         web                  Up 3 seconds\n' +
      'def4567890ab   a-much-longer-name   Exited (0) 2 minutes ago\n');
    // literal \t as a user types it in a shell
    assert.equal(renderItems('table {{.ID}}\\t{{.Names}}', rows.slice(0, 1), headers), 'CONTAINER ID   NAMES\nabc123         web\n');
    // short columns are padded to at least 10
    assert.equal(renderItems('table {{.Names}}\t{{.ID}}', rows.slice(0, 1), headers), 'NAMES     CONTAINER ID\nweb       abc123\n');
  });

  it('prints other templates once per item, json as {{json .}}', () => {
    assert.equal(renderItems('{{.ID}}: {{.Names}}', rows, headers), 'abc123: web\ndef4567890ab: a-much-longer-name\n');
    assert.equal(renderItems('{{.ID}}\t{{.Names}}', rows.slice(0, 1), headers), 'abc123\tweb\n');
    assert.equal(renderItems(resolveFormat('json', 'table {{.ID}}'), rows.slice(0, 1), headers), '{"ID":"abc123","Names":"web","Status":"Up 3 seconds"}\n');
    assert.equal(resolveFormat(undefined, 'table X'), 'table X');
    assert.equal(resolveFormat('table', 'table X'), 'table X');
  });

  it('renders header functions as the bare title', () => {
    assert.equal(renderItems('table {{.Names | upper}}\t{{truncate .ID 3}}', rows.slice(0, 1), headers), 'NAMES     CONTAINER ID\nWEB       abc\n');
  });

  it('renders one object for inspect -f', () => {
    assert.equal(renderOne('{{.State.Status}}\\t{{.Id}}', data), 'running\tabc');
    assert.throws(() => renderOne('{{.State.Status.X}}', data), /executing "" at <\{\{\.State\.Status\.X\}\}>: can't evaluate field X/);
  });
});
