// The flag parser against pflag's syntax and messages, and the CLI's handling of wrong command
// lines (exit statuses, the "See 'berth X --help'." line), without a daemon.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { parseFlags, flagUsages, type FlagDef } from '../../../src/cli/flags.js';
import { containerFlags, runOnlyFlags } from '../../../src/cli/commands/container-opts.js';
import { main } from '../../../src/cli/main.js';

const defs: FlagDef[] = [
  { name: 'all', short: 'a', type: 'bool', help: '' },
  { name: 'quiet', short: 'q', type: 'bool', help: '' },
  { name: 'last', short: 'n', type: 'int', help: '', default: -1 },
  { name: 'filter', short: 'f', type: 'list', help: '' },
  { name: 'format', type: 'string', help: '' },
  { name: 'cpus', type: 'float', help: '' },
  { name: 'sig-proxy', type: 'bool', help: '', default: true },
];

describe('flag parsing', () => {
  it('takes long, short, combined and attached forms', () => {
    const { flags, args } = parseFlags(['-aq', '--format={{.ID}}', '-n5', '--filter', 'a=1', '-f', 'b=2', '-fc=3', 'pos', '--cpus', '1.5'], defs);
    assert.equal(flags.bool('all'), true);
    assert.equal(flags.bool('quiet'), true);
    assert.equal(flags.str('format'), '{{.ID}}');
    assert.equal(flags.int('last'), 5);
    assert.deepEqual(flags.list('filter'), ['a=1', 'b=2', 'c=3']);
    assert.equal(flags.values.get('cpus'), 1.5);
    assert.deepEqual(args, ['pos']);
    assert.ok(flags.has('all') && !flags.has('sig-proxy'));
  });

  it('keeps defaults, and takes booleans only as --flag=value', () => {
    const { flags, args } = parseFlags(['--sig-proxy=false', '-a=false', 'x', 'true'], defs);
    assert.equal(flags.bool('sig-proxy'), false);
    assert.equal(flags.bool('all'), false);
    assert.equal(flags.int('last'), -1);
    assert.deepEqual(args, ['x', 'true']);
    assert.equal(parseFlags([], defs).flags.bool('sig-proxy'), true);
  });

  it('lets flags follow arguments unless told to stop at the first argument', () => {
    assert.deepEqual(parseFlags(['x', '-a', 'y'], defs).args, ['x', 'y']);
    const stop = parseFlags(['-a', 'img', 'sh', '-c', 'echo -q'], defs, { stopAtPositional: true });
    assert.deepEqual(stop.args, ['img', 'sh', '-c', 'echo -q']);
    assert.equal(stop.flags.bool('quiet'), false);
    assert.deepEqual(parseFlags(['-a', '--', '-q'], defs).args, ['-q']);
    assert.deepEqual(parseFlags(['-'], defs).args, ['-']);
  });

  it('fails like pflag', () => {
    assert.throws(() => parseFlags(['--nope'], defs), /^UsageError: unknown flag: --nope$/);
    assert.throws(() => parseFlags(['-az'], defs), /unknown shorthand flag: 'z' in -az/);
    assert.throws(() => parseFlags(['--format'], defs), /flag needs an argument: --format/);
    assert.throws(() => parseFlags(['-n'], defs), /flag needs an argument: 'n' in -n/);
    assert.throws(() => parseFlags(['-n', 'x'], defs), /invalid argument "x" for "-n, --last" flag: strconv.ParseInt: parsing "x": invalid syntax/);
    assert.throws(() => parseFlags(['--all=maybe'], defs), /invalid argument "maybe" for "-a, --all" flag: strconv.ParseBool/);
    assert.throws(() => parseFlags(['---x'], defs), /bad flag syntax: ---x/);
  });

  it('parses docker run command lines', () => {
    const all = [...containerFlags, ...runOnlyFlags];
    const { flags, args } = parseFlags(['-dit', '--rm', '-e', 'A=1', '-eB=2', '-p', '8080:80', '-v', '/a:/b', '--name=x', '-h', 'host', 'busybox', 'sh', '-c', 'ls -l'], all, { stopAtPositional: true });
    assert.ok(flags.bool('detach') && flags.bool('interactive') && flags.bool('tty') && flags.bool('rm'));
    assert.deepEqual(flags.list('env'), ['A=1', 'B=2']);
    assert.equal(flags.str('hostname'), 'host');
    assert.deepEqual(args, ['busybox', 'sh', '-c', 'ls -l']);
  });

  it('lays out help like pflag', () => {
    const help: FlagDef[] = [
      { name: 'all', short: 'a', type: 'bool', help: 'Show all' },
      { name: 'last', short: 'n', type: 'int', help: 'Show n last', default: -1 },
      { name: 'format', type: 'string', help: 'Format', default: 'table' },
    ];
    assert.equal(flagUsages(help), [
      `  -a, --all${' '.repeat(13)}Show all`,
      `  -n, --last int${' '.repeat(8)}Show n last (default -1)`,
      '      --format string   Format (default "table")',
    ].join('\n'));
  });
});

function capture() {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (d) => (o += d));
  err.on('data', (d) => (e += d));
  const stdin = new PassThrough();
  stdin.end();
  return { io: { stdin, stdout: out, stderr: err }, text: () => ({ out: o, err: e }) };
}

describe('command line errors', () => {
  const env = { BERTH_HOST: 'unix:///nonexistent/berth-test.sock', HOME: '/nonexistent' };

  it('exits 125 with "See \'berth CMD --help\'." for a flag error, for run and others', async () => {
    for (const argv of [['run', '--bogus', 'busybox'], ['ps', '--bogus'], ['create', '-Z']]) {
      const c = capture();
      assert.equal(await main(argv, env, c.io), 125, argv.join(' '));
      const name = argv[0];
      assert.match(c.text().err, new RegExp(`^unknown (shorthand )?flag: .*\\nSee 'berth ${name} --help'\\.\\n$`));
    }
  });

  it('exits 1 for a wrong number of arguments or an unknown command', async () => {
    let c = capture();
    assert.equal(await main(['logs'], env, c.io), 1);
    assert.match(c.text().err, /^"berth logs" requires exactly 1 argument\.\nSee 'berth logs --help'\./);
    c = capture();
    assert.equal(await main(['frobnicate'], env, c.io), 1);
    assert.match(c.text().err, /unknown command: berth frobnicate/);
    c = capture();
    assert.equal(await main(['ps', 'extra'], env, c.io), 1);
    assert.match(c.text().err, /"berth ps" accepts no arguments\./);
  });

  it('prints help with exit 0 (run -h is --hostname, so run takes --help only)', async () => {
    let c = capture();
    assert.equal(await main(['run', '--help'], env, c.io), 0);
    assert.match(c.text().out, /Usage:  berth run \[OPTIONS\] IMAGE \[COMMAND\] \[ARG\.\.\.\]/);
    assert.match(c.text().out, /  -h, --hostname string/);
    assert.match(c.text().out, /      --help  +Print usage/);
    c = capture();
    assert.equal(await main(['volume'], env, c.io), 0);
    assert.match(c.text().out, /Usage:  berth volume COMMAND/);
    c = capture();
    assert.equal(await main(['container', 'ls', '-h'], env, c.io), 0);
    assert.match(c.text().out, /Usage:  berth container ls \[OPTIONS\]/);
  });

  it('says when no daemon answers at an explicit address, and never starts one there', async () => {
    const c = capture();
    assert.equal(await main(['ps'], env, c.io), 1);
    assert.equal(c.text().err, 'Cannot connect to the berth daemon at unix:///nonexistent/berth-test.sock. Is the berth daemon running?\n');
  });
});
