// berth-shim on its own, with a shell as the launcher (the process it keeps is the shell's
// background job): the launch report, the json-file log and Go's escaping, partial lines,
// several attachers, stdin, the control channel, exit statuses and the exit file.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { cleanupDir, processesMentioning, waitFor } from '../../helpers/runtime.js';
import { readExitFile, ShimClient } from '../../../src/supervisor/tasks/shim-client.js';
import { startShim, type ShimOptions } from '../../../src/supervisor/tasks/shim-process.js';

const root = mkdtempSync(join(tmpdir(), 'berth-shim-'));
let n = 0;

/** Starts a shim whose process runs `script` in sh, with the shim's stdin. */
async function shim(script: string, opts: Partial<ShimOptions> = {}) {
  const dir = mkdtempSync(join(root, `s${n++}-`));
  const pidFile = join(dir, 'pid');
  const o: ShimOptions = { id: `t${n}`, dir, pidFile, ...opts };
  // A background job's stdin is /dev/null unless it comes through another fd.
  const report = await startShim(o, { file: 'sh', args: ['-c', `exec 3<&0; (${script}) <&3 3<&- & echo $! > ${pidFile}`] });
  return { ...report, dir, client: new ShimClient(join(dir, 'shim.sock')) };
}

/** Collects everything an attach connection receives until it closes. */
function collect(sock: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  sock.on('data', (d: Buffer) => chunks.push(d));
  sock.resume();
  return new Promise((resolve) => sock.once('close', () => resolve(Buffer.concat(chunks))));
}

/** Splits Docker's multiplexed stream into [stream, text] frames. */
function frames(buf: Buffer): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  for (let i = 0; i < buf.length; ) {
    const len = buf.readUInt32BE(i + 4);
    out.push([buf[i]!, buf.subarray(i + 8, i + 8 + len).toString()]);
    i += 8 + len;
  }
  return out;
}

function logEntries(path: string): Array<{ log: string; stream: string; time: string }> {
  return readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

describe('berth-shim', () => {
  after(() => {
    for (const pid of processesMentioning(root)) process.kill(pid, 'SIGKILL');
    cleanupDir(root);
  });

  it('reports the launcher\'s own words when it fails, and leaves no socket', async () => {
    const dir = mkdtempSync(join(root, 'fail-'));
    await assert.rejects(startShim({ id: 'f', dir, pidFile: join(dir, 'pid') }, { file: 'sh', args: ['-c', 'echo "no such image" >&2; exit 4'] }), /no such image/);
    await assert.rejects(startShim({ id: 'f', dir, pidFile: join(dir, 'pid') }, { file: '/nonexistent/runtime', args: [] }), /cannot run \/nonexistent\/runtime/);
    await assert.rejects(startShim({ id: 'f', dir, pidFile: join(dir, 'pid') }, { file: 'true', args: [] }), /did not write the pid file/);
    assert.equal(existsSync(join(dir, 'shim.sock')), false);
  });

  it('logs Docker\'s json-file lines with Go\'s escaping, partial lines and the exit file', async () => {
    const log = join(root, 'escape.log');
    // <>&, a tab, a control byte, U+2028, an invalid UTF-8 byte, a valid é, and a 20000-byte line.
    const s = await shim(`printf 'a<b>&c\\td\\001e\\342\\200\\250f\\377g\\303\\251\\n'; head -c 20000 /dev/zero | tr '\\0' x; echo; printf tail; exit 7`, { log: { path: log } });
    const exit = await s.client.wait();
    assert.equal(exit.status, 7);
    const raw = readFileSync(log, 'utf8').split('\n')[0]!;
    assert.equal(raw.slice(0, raw.indexOf('","stream"')), '{"log":"a\\u003cb\\u003e\\u0026c\\td\\u0001e\\u2028f\\ufffdgé\\n');
    const entries = logEntries(log);
    assert.deepEqual(entries.map((e) => e.log.length), [16, 16384, 20000 - 16384 + 1, 4], 'a long line in a 16 KiB partial and the rest');
    assert.equal(entries.at(-1)!.log, 'tail', 'the last partial line is logged at exit');
    assert.ok(entries.every((e) => e.stream === 'stdout' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/.test(e.time)));
    const file = JSON.parse(readFileSync(join(s.dir, 'exit'), 'utf8'));
    assert.deepEqual({ status: file.status, oomKilled: file.oomKilled, pid: file.pid }, { status: 7, oomKilled: false, pid: s.pid });
    assert.match(file.exitedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    assert.equal(new Date(file.exitedAt).getTime(), exit.exitedAt.getTime());
    await waitFor(() => !existsSync(join(s.dir, 'shim.sock'))); // the shim removes its socket when it goes
  });

  it('serves several attachers with framed stdout and stderr, and forwards stdin', async () => {
    const s = await shim('read line; echo "out:$line"; echo "err:$line" >&2; cat', { stdin: true });
    const a = await s.client.attach(['stdin', 'stdout', 'stderr']);
    const b = await s.client.attach(['stdout']);
    const [gotA, gotB] = [collect(a), collect(b)];
    a.write('hello\nrest of stdin\n');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await s.client.closeStdin(), 'ok');
    assert.equal((await s.client.wait()).status, 0);
    // stdout and stderr are separate pipes: order holds within a stream, not across them; how
    // the bytes fall into frames depends on how the reads went.
    const text = (f: Array<[number, string]>, id: number) => f.filter(([s]) => s === id).map(([, t]) => t).join('');
    const a1 = frames(await gotA);
    assert.equal(text(a1, 1), 'out:hello\nrest of stdin\n');
    assert.equal(text(a1, 2), 'err:hello\n');
    const b1 = frames(await gotB);
    assert.equal(text(b1, 1), 'out:hello\nrest of stdin\n');
    assert.equal(text(b1, 2), '', 'b asked for stdout only');
  });

  it('keeps a quick process\'s output for its first attacher with --hold-output, and logs it once', async () => {
    const log = join(root, 'hold.log');
    // (the sleep: a job that ended before the launching shell did would be reaped by the shell)
    const s = await shim('sleep 0.1; echo early; echo oops >&2; exit 3', { holdOutputMs: 5000, log: { path: log } });
    await new Promise((r) => setTimeout(r, 400)); // the process is gone by now
    const got = collect(await s.client.attach(['stdout', 'stderr']));
    assert.deepEqual(frames(await got).sort(), [[1, 'early\n'], [2, 'oops\n']]);
    assert.equal((await s.client.wait().catch(() => readExitFile(s.dir)!)).status, 3);
    assert.deepEqual(logEntries(log).map((e) => e.log).sort(), ['early\n', 'oops\n']);
    // Without an attacher the hold ends at its deadline: the output is logged, the shim goes.
    const alone = await shim('echo unread', { holdOutputMs: 200, log: { path: join(root, 'hold2.log') } });
    await waitFor(() => !existsSync(join(alone.dir, 'shim.sock')), 5000);
    assert.deepEqual(logEntries(join(root, 'hold2.log')).map((e) => e.log), ['unread\n']);
  });

  it('closes stdin when the first stdin attacher leaves, with --stdin-once', async () => {
    const s = await shim('cat; echo eof-seen', { stdin: true, stdinOnce: true, log: { path: join(root, 'once.log') } });
    const a = await s.client.attach(['stdin']);
    a.end('line\n');
    assert.equal((await s.client.wait()).status, 0);
    assert.deepEqual(logEntries(join(root, 'once.log')).map((e) => e.log), ['line\n', 'eof-seen\n']);
  });

  it('answers control commands and reports death by signal as 128+N', async () => {
    const s = await shim('sleep 100');
    assert.equal(await s.client.state(), `running ${s.pid}`);
    await assert.rejects(s.client.resize(24, 80), /no terminal/);
    await assert.rejects(s.client.control('launch missiles'), /unknown command/);
    const waiting = s.client.wait();
    // The shim outlives what would end it with its supervisor.
    process.kill(s.shimPid, 'SIGTERM');
    process.kill(s.shimPid, 'SIGHUP');
    assert.equal(await s.client.state(), `running ${s.pid}`);
    assert.equal(await s.client.signal(15), 'ok');
    assert.equal((await waiting).status, 143);
  });

  it('reports a process that exits before the launcher has finished', async () => {
    const dir = mkdtempSync(join(root, 'quick-'));
    const pidFile = join(dir, 'pid');
    // The inner node starts the process and exits without reaping it: the shim (the subreaper)
    // inherits and reaps it while the launcher still sleeps, and keeps its status until the pid
    // file names it. (A shell would race to reap it itself.)
    const inner = `const c = require('child_process').spawn('sh', ['-c', 'sleep 0.05; exit 3'], { stdio: 'ignore' }); require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(c.pid)); process.exit(0);`;
    const report = await startShim({ id: 'q', dir, pidFile }, { file: 'sh', args: ['-c', `"${process.execPath}" -e "$0"; sleep 0.5`, inner] });
    assert.equal((await new ShimClient(join(dir, 'shim.sock')).wait()).status, 3);
    assert.ok(report.pid > 0);
  });

  it('reports a process whose status the launcher took as lost (255), not as running', async () => {
    const dir = mkdtempSync(join(root, 'lost-'));
    const pidFile = join(dir, 'pid');
    await startShim({ id: 'l', dir, pidFile }, { file: 'sh', args: ['-c', `exit 3 & echo $! > ${pidFile}; wait`] });
    assert.equal((await new ShimClient(join(dir, 'shim.sock')).wait()).status, 255);
  });
});
