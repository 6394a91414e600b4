// berth on a pseudo-terminal (util-linux `script`), against a private dockerd: run -it echoes what
// is typed through the container's terminal and exits with the shell's status, ctrl-p ctrl-q
// detaches and leaves the container running, exec -it and attach work the same way, the window
// size reaches the container, and --detach-keys changes the sequence.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { haveCommand } from '../../helpers/runtime.js';
import { haveDockerd } from '../../helpers/dockerd.js';
import { startCliHarness, type CliHarness } from '../../helpers/cli.js';

// busybox sh's prompt, possibly followed by the terminal queries and redraws it makes
const PROMPT = /\/ # (\x1b\[\d*[a-zA-Z]|\r\/ # )*$/;

describe('berth on a terminal', { skip: (!haveDockerd() && 'dockerd not installed') || (!haveCommand('script') && 'script (bsdutils) not installed') }, () => {
  let h: CliHarness;
  before(async () => {
    h = await startCliHarness();
  });
  after(async () => {
    await h?.cleanup();
  });

  it('run -it: typed input is echoed by the container\'s terminal, the exit status comes back', async () => {
    const s = h.pty(['run', '-it', '--rm', '--network', 'none', 'busybox', 'sh']);
    await s.expect(PROMPT);
    const mark = s.output.length;
    s.write('echo "sum=$((40+2))"\r');
    await s.expect('echo "sum=$((40+2))"', 5000, mark); // the echo of what was typed
    await s.expect('sum=42', 5000, mark + 5);
    assert.doesNotMatch(s.output, /\r\r\n/, 'no doubled carriage returns: output post-processing is off as with Go\'s raw mode');
    s.write('exit 5\r');
    assert.equal(await s.exit(), 5);
  });

  it('ctrl-p ctrl-q detaches run -it (exit 0, container still running); exec -it and attach work on it', async () => {
    const s = h.pty(['run', '-it', '--name', 'shell', '--network', 'none', 'busybox', 'sh']);
    await s.expect(PROMPT);
    s.write('touch /tmp/was-here\r');
    await s.expect(/touch \/tmp\/was-here\r\n\/ # /);
    s.write('\x10\x11');
    assert.equal(await s.exit(), 0);
    assert.doesNotMatch(s.output, /read escape sequence/);
    assert.equal(await h.ok(['inspect', '-f', '{{.State.Running}}', 'shell']), 'true\n');

    const e = h.pty(['exec', '-it', 'shell', 'sh']);
    await e.expect(PROMPT);
    e.write('ls /tmp; exit 3\r');
    await e.expect('was-here');
    assert.equal(await e.exit(), 3);

    const detachedExec = h.pty(['exec', '-it', 'shell', 'sh']);
    await detachedExec.expect(PROMPT);
    detachedExec.write('\x10\x11');
    assert.equal(await detachedExec.exit(), 1, 'docker exec says "read escape sequence" and exits 1 when detached');
    assert.match(detachedExec.output, /read escape sequence/);

    const a = h.pty(['attach', 'shell']);
    await new Promise((r) => setTimeout(r, 500));
    a.write('echo attached-$((6*7))\r');
    await a.expect('attached-42');
    a.write('\x10\x11');
    assert.equal(await a.exit(), 1);
    assert.match(a.output, /read escape sequence/);
    assert.equal(await h.ok(['inspect', '-f', '{{.State.Running}}', 'shell']), 'true\n');

    // the container's own shell ends: attach returns its exit status
    const last = h.pty(['attach', 'shell']);
    await new Promise((r) => setTimeout(r, 500));
    last.write('exit 9\r');
    assert.equal(await last.exit(), 9);
  });

  it('sends the terminal size (create, exec and resize)', async () => {
    // the first resize comes right after start (as with docker, a daemon older than API 1.42
    // ignores ConsoleSize), so the command waits a moment before it looks
    const run = h.pty(['run', '-it', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'sleep 0.5; stty size'], { rows: 33, cols: 111 });
    assert.equal(await run.exit(), 0);
    assert.match(run.output, /33 111/);
    await h.ok(['run', '-d', '-t', '--name', 'sized', '--network', 'none', 'busybox', 'sleep', '300']);
    const ex = h.pty(['exec', '-it', 'sized', 'sh', '-c', 'sleep 0.5; stty size'], { rows: 40, cols: 120 });
    assert.equal(await ex.exit(), 0);
    assert.match(ex.output, /40 120/);
  });

  it('--detach-keys changes the sequence; the default keys then pass through', async () => {
    const s = h.pty(['run', '-it', '--detach-keys', 'ctrl-x,x', '--name', 'custom', '--network', 'none', 'busybox', 'sh']);
    await s.expect(PROMPT);
    s.write('\x10\x11echo still-here\r');
    await s.expect('still-here');
    s.write('\x18x');
    assert.equal(await s.exit(), 0);
    assert.equal(await h.ok(['inspect', '-f', '{{.State.Running}}', 'custom']), 'true\n');
  });

  it('refuses -it without a terminal, as docker does', async () => {
    const r = await h.berth(['run', '-it', '--network', 'none', 'busybox', 'true']);
    const d = await h.docker(['run', '-it', '--network', 'none', 'busybox', 'true']);
    assert.equal(r.code, d.code);
    assert.match(r.stderr, /the input device is not a TTY/);
  });
});
