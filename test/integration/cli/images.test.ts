// berth's image commands against a private dockerd, compared with the real docker CLI: images
// (table, -q, --format, --digests), tag, rmi, history, commit, save/load, export/import, image
// prune; and login, push, pull (with progress) and logout against Debian's docker-registry with
// htpasswd authentication on 127.0.0.1, which dockerd treats as an insecure registry.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { haveDockerd } from '../../helpers/dockerd.js';
import { haveCommand } from '../../helpers/runtime.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { startCliHarness, type CliHarness } from '../../helpers/cli.js';

describe('berth image commands', { skip: !haveDockerd() && 'dockerd not installed (apt-get install docker.io)' }, () => {
  let h: CliHarness;
  let registry: TestRegistry | undefined;
  before(async () => {
    h = await startCliHarness();
  });
  after(async () => {
    await registry?.stop();
    await h?.cleanup();
  });

  // "Less than a second ago" may become "1 second ago" between the two commands
  // (which also changes the column's width): compare with ages and column gaps evened out
  // (which also changes the column's width): compare with ages and column gaps evened out; the
  // rows of one image's tags come in Go map order in docker, so they are compared as a set
  const ages = (s: string) => s.replace(/(Less than a second|About an? \w+|\d+ \w+) ago/g, 'AGE ago').replace(/ {2,}/g, '  ').split('\n').sort().join('\n');
  const same = async (args: string[], what = args.join(' ')) => {
    const b = await h.berth(args);
    const d = await h.docker(args);
    assert.equal(b.code, 0, `berth ${what}: ${b.stderr}`);
    assert.deepEqual([ages(b.stdout), b.stderr], [ages(d.stdout), d.stderr], what);
    return b.stdout;
  };

  it('images, tag, rmi: the same output as docker', async () => {
    assert.equal(await h.ok(['tag', 'busybox', 'local/tools:1.0']), '');
    await h.ok(['tag', 'busybox:latest', 'docker.io/local/tools:latest']);
    await same(['images']);
    await same(['images', '-q']);
    await same(['images', '-a', '--no-trunc']);
    await same(['images', '--digests']);
    await same(['images', 'local/tools']);
    await same(['images', '--filter', 'reference=busybox', '-q']);
    await same(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}} {{.Digest}}']);
    await same(['images', '--format', 'table {{.Repository}}\t{{.Tag}}\t{{.Size}}']);
    await same(['image', 'ls', '--format', 'json']);
    const header = (await h.ok(['images'])).split('\n')[0];
    assert.match(header!, /^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$/);
    assert.match(await h.ok(['images', 'busybox']), /\nbusybox +latest +[0-9a-f]{12} +.* ago +1\.98MB\n$/);
    const rmi = await h.berth(['rmi', 'local/tools:1.0', 'nosuch:1']);
    assert.deepEqual([rmi.code, rmi.stdout], [1, 'Untagged: local/tools:1.0\n']);
    assert.match(rmi.stderr, /^Error response from daemon: No such image: nosuch:1\n$/);
    assert.equal(await h.ok(['image', 'rm', 'local/tools']), 'Untagged: local/tools:latest\n');
  });

  it('history and image inspect', async () => {
    await same(['history', 'busybox']);
    await same(['history', '-q', '--no-trunc', 'busybox']);
    await same(['history', '--format', '{{.ID}} {{.CreatedBy}} {{.Size}} {{.Comment}}', 'busybox']);
    await same(['image', 'inspect', '-f', '{{.Id}} {{json .Config.Cmd}} {{.Os}}/{{.Architecture}} {{.Size}}', 'busybox']);
  });

  it('commit with -m -a -c, then run the new image', async () => {
    await h.ok(['run', '--name', 'changed', '--network', 'none', 'busybox', 'sh', '-c', 'echo committed > /greeting']);
    const id = await h.ok(['commit', '-m', 'a message', '-a', 'berth tests', '-c', 'CMD ["cat", "/greeting"]', '-c', 'ENV MADE_BY=berth', 'changed', 'committed:v1']);
    assert.match(id, /^sha256:[0-9a-f]{64}\n$/);
    assert.equal(await h.ok(['run', '--rm', '--network', 'none', 'committed:v1']), 'committed\n');
    assert.equal(await h.ok(['image', 'inspect', '-f', '{{.Comment}}|{{.Author}}|{{index .Config.Env 0}}', 'committed:v1']), 'a message|berth tests|MADE_BY=berth\n');
    assert.match(await h.ok(['history', 'committed:v1']), /\n[0-9a-f]{12} +.* ago +sh -c echo committed > \/greeting +\d+B +a message\n/);
  });

  it('save and load, export and import, through files and pipes', async () => {
    const archive = join(h.dir, 'saved.tar');
    assert.equal(await h.ok(['save', '-o', archive, 'committed:v1', 'busybox']), '');
    assert.ok(statSync(archive).size > 1_000_000);
    await h.ok(['rmi', 'committed:v1']);
    const lines = (s: string) => s.split('\n').sort().join('\n');
    assert.equal(lines(await h.ok(['load', '-i', archive])), lines('Loaded image: committed:v1\nLoaded image: busybox:latest\n'));
    const toPipe = await h.berth(['save', 'committed:v1']);
    assert.equal(toPipe.code, 0, 'save writes to stdout when it is not a terminal');
    assert.ok(toPipe.stdout.includes('manifest.json'));
    assert.match(await h.ok(['rmi', 'committed:v1']), /^Untagged: committed:v1\n(Deleted: sha256:[0-9a-f]{64}\n)+$/);
    assert.equal(lines(await h.ok(['load', '-q'], { input: readFileSync(archive) })), lines('Loaded image: committed:v1\nLoaded image: busybox:latest\n'));
    assert.equal(await h.ok(['run', '--rm', '--network', 'none', 'committed:v1']), 'committed\n');

    const exported = join(h.dir, 'exported.tar');
    await h.ok(['export', '-o', exported, 'changed']);
    const listing = execFileSync('tar', ['-tf', exported], { encoding: 'utf8' });
    assert.match(listing, /^greeting$/m);
    assert.match(listing, /^bin\/busybox$/m);
    const imported = await h.ok(['import', '-c', 'CMD ["cat", "/greeting"]', '-m', 'from a tarball', exported, 'imported:v1']);
    assert.match(imported, /^sha256:[0-9a-f]{64}\n$/);
    assert.equal(await h.ok(['run', '--rm', '--network', 'none', 'imported:v1']), 'committed\n');
    const fromStdin = await h.ok(['import', '-', 'imported:stdin'], { input: readFileSync(exported) });
    assert.match(fromStdin, /^sha256:[0-9a-f]{64}\n$/);
    assert.equal(await h.ok(['history', '--format', '{{.Comment}}', 'imported:v1']), 'from a tarball\n');
    const refusal = h.pty(['save', 'busybox']);
    assert.equal(await refusal.exit(), 1);
    assert.match(refusal.output, /cowardly refusing to save to a terminal\. Use the -o flag or redirect/);
  });

  it('image prune removes dangling images', async () => {
    await h.ok(['run', '--name', 'dangler', '--network', 'none', 'busybox', 'touch', '/x']);
    await h.ok(['commit', 'dangler']);
    const before = (await h.ok(['images', '-q', '--filter', 'dangling=true'])).trim();
    assert.match(before, /^[0-9a-f]{12}$/);
    const out = await h.ok(['image', 'prune', '-f']);
    assert.match(out, /^Deleted Images:\n(deleted: sha256:[0-9a-f]{64}\n)+\nTotal reclaimed space: [\d.]+k?B\n$/);
    assert.equal(await h.ok(['images', '-q', '--filter', 'dangling=true']), '');
    const declined = await h.ok(['image', 'prune'], { input: 'n\n' });
    assert.equal(declined, 'WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] ');
  });

  it('login, push, pull with progress, logout against a registry with a password', { skip: !haveCommand('docker-registry') || !haveCommand('htpasswd') ? 'docker-registry or htpasswd not installed' : false }, async () => {
    const htpasswd = join(h.dir, 'htpasswd');
    writeFileSync(htpasswd, execFileSync('htpasswd', ['-Bbn', 'alice', 's3cret']));
    registry = await startRegistry({ htpasswd });
    // committed:v1 has a layer of its own on top of busybox's: pulls download it
    const ref = `${registry.host}/team/bb:1`;
    await h.ok(['tag', 'committed:v1', ref]);
    const denied = await h.berth(['push', ref]);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /no basic auth credentials|authentication required|unauthorized/);
    const bad = await h.berth(['login', '-u', 'alice', '--password-stdin', registry.host], { input: 'wrong\n' });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Error response from daemon: .*(unauthorized|401)/i);
    const login = await h.berth(['login', '-u', 'alice', '--password-stdin', registry.host], { input: 's3cret\n' });
    assert.equal(login.code, 0, login.stderr);
    assert.equal(login.stdout, 'Login Succeeded\n');
    const config = JSON.parse(readFileSync(join(h.env.DOCKER_CONFIG!, 'config.json'), 'utf8')) as { auths: Record<string, { auth: string }> };
    assert.equal(Buffer.from(config.auths[registry.host]!.auth, 'base64').toString(), 'alice:s3cret');

    const push = await h.berth(['push', ref]);
    assert.equal(push.code, 0, push.stderr);
    assert.match(push.stdout, /^The push refers to repository \[.*team\/bb\]\n/);
    assert.match(push.stdout, /^[0-9a-f]{12}: Pushed$/m);
    assert.match(push.stdout, /^[0-9a-f]{12}: Preparing$/m);
    assert.match(push.stdout, /\n1: digest: sha256:[0-9a-f]{64} size: \d+\n$/);

    await h.ok(['rmi', ref]);
    await h.ok(['rmi', 'committed:v1']);
    const pull = await h.berth(['pull', ref]);
    assert.equal(pull.code, 0, pull.stderr);
    assert.match(pull.stdout, /^1: Pulling from team\/bb\n/);
    assert.match(pull.stdout, /^[0-9a-f]{12}: Already exists$/m);
    assert.match(pull.stdout, /^[0-9a-f]{12}: Pull complete$/m);
    assert.match(pull.stdout, /\nDigest: sha256:[0-9a-f]{64}\nStatus: Downloaded newer image for .*team\/bb:1\n.*team\/bb:1\n$/);
    assert.doesNotMatch(pull.stdout, /\x1b\[/, 'no cursor movement off a terminal');
    await h.ok(['rmi', ref]);
    assert.equal(await h.ok(['pull', '-q', ref]), `${ref}\n`);
    // run pulls a missing image by itself, progress on stderr
    await h.ok(['rmi', ref]);
    const run = await h.berth(['run', '--rm', '--network', 'none', ref, 'echo', 'pulled and ran']);
    assert.equal(run.stdout, 'pulled and ran\n', run.stderr);
    assert.match(run.stderr, new RegExp(`^Unable to find image '${ref.replace(/[.]/g, '\\.')}' locally\\n1: Pulling from team/bb\\n`));

    // on a terminal, layers get lines of their own redrawn in place
    await h.ok(['rmi', ref]);
    const tty = h.pty(['pull', ref], { rows: 30, cols: 150 });
    assert.equal(await tty.exit(30_000), 0, tty.output);
    assert.match(tty.output, /\x1b\[2K\r/);

    assert.equal(await h.ok(['logout', registry.host]), `Removing login credentials for ${registry.host}\n`);
    assert.equal(await h.ok(['logout', registry.host]), `Not logged in to ${registry.host}\n`);
    const after = JSON.parse(readFileSync(join(h.env.DOCKER_CONFIG!, 'config.json'), 'utf8')) as { auths: Record<string, unknown> };
    assert.equal(after.auths[registry.host], undefined);
    assert.equal(existsSync(join(h.env.DOCKER_CONFIG!, 'config.json')), true);
    // asked on a terminal: the user name echoed, the password not
    const prompted = h.pty(['login', registry.host]);
    await prompted.expect('Username: ');
    prompted.write('alice\r');
    await prompted.expect('Password: ');
    prompted.write('s3cret\r');
    assert.equal(await prompted.exit(), 0, prompted.output);
    assert.match(prompted.output, /Username: alice\r?\nPassword: \r?\n/);
    assert.doesNotMatch(prompted.output, /s3cret/);
    assert.match(prompted.output, /Login Succeeded/);
    assert.equal(await h.ok(['logout', registry.host]), `Removing login credentials for ${registry.host}\n`);
  });
});
