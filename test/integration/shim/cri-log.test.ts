// berth-shim's CRI log (--log-format cri) with real containers: the kubelet's
// "TIME STREAM F|P TEXT" lines as containerd's CRI writes them, long lines cut into partial
// pieces, a terminal's output as stdout, and the reopen the kubelet asks for after its rotation.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBundle, type Bundle } from '../../helpers/busybox.js';
import { cleanupDir, removeCgroupDir, waitFor } from '../../helpers/runtime.js';
import { TaskService } from '../../../src/supervisor/tasks/service.js';
import type { CriLogOptions } from '../../../src/supervisor/tasks/shim-process.js';

interface CriLine {
  time: string;
  stream: string;
  tag: string;
  text: string;
}

/** Go's time.RFC3339Nano in UTC: the fraction has no trailing zeros, and no dot when it is 0. */
const RFC3339_NANO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?Z$/;

function criLines(path: string): CriLine[] {
  const text = readFileSync(path, 'utf8');
  assert.ok(text === '' || text.endsWith('\n'), 'every entry ends with a newline');
  return text.split('\n').slice(0, -1).map((l) => {
    const m = /^(\S+) (stdout|stderr) ([FP]) (.*)$/s.exec(l);
    assert.ok(m, `a CRI log line: ${JSON.stringify(l.slice(0, 80))}`);
    return { time: m[1]!, stream: m[2]!, tag: m[3]!, text: m[4]! };
  });
}

/** Nanoseconds since the epoch of an RFC 3339 time with up to 9 fraction digits. */
function epochNs(time: string): bigint {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(time)!;
  return BigInt(Date.parse(`${m[1]}Z`)) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

describe('berth-shim CRI log', () => {
  const execRoot = mkdtempSync(join(tmpdir(), 'berth-crilog-'));
  const service = new TaskService({ execRoot });
  const bundles: Bundle[] = [];
  let n = 0;
  after(async () => {
    for (const t of service.list()) await service.delete(t.namespace, t.id, true).catch(() => {});
    for (const b of bundles) cleanupDir(b.dir);
    cleanupDir(execRoot);
    removeCgroupDir(`berth-test-crilog/${process.pid}`);
    removeCgroupDir('berth-test-crilog');
  });

  /** Runs `script` in a busybox container to its end, its output logged in the CRI format. */
  async function run(script: string, opts: { terminal?: boolean; maxLine?: number } = {}) {
    const b = makeBundle(['sh', '-c', script], (s) => {
      s.linux!.cgroupsPath = `/berth-test-crilog/${process.pid}/c${n}`;
      s.process!.terminal = !!opts.terminal;
    });
    bundles.push(b);
    const id = `c${n++}`;
    const log = join(b.dir, 'container.log');
    const criLog: CriLogOptions = { path: log, format: 'cri', ...(opts.maxLine ? { maxLine: opts.maxLine } : {}) };
    const before = BigInt(Date.now()) * 1_000_000n;
    await service.create('k8s', id, { bundle: b.dir, terminal: opts.terminal, log: criLog });
    await service.start('k8s', id);
    const exit = await service.wait('k8s', id);
    const afterNs = BigInt(Date.now() + 1) * 1_000_000n;
    await service.delete('k8s', id);
    return { exit, log, lines: criLines(log), before, after: afterNs };
  }

  it('writes stdout and stderr lines with the time, the stream and the F tag', async () => {
    const r = await run('echo hello; echo oops >&2; echo; echo "two  spaces "; echo bye >&2; printf "crlf\\r\\n"');
    assert.equal(r.exit.status, 0);
    const by = (stream: string) => r.lines.filter((l) => l.stream === stream).map((l) => [l.tag, l.text]);
    assert.deepEqual(by('stdout'), [['F', 'hello'], ['F', ''], ['F', 'two  spaces '], ['F', 'crlf']]);
    assert.deepEqual(by('stderr'), [['F', 'oops'], ['F', 'bye']]);
    for (const l of r.lines) {
      assert.match(l.time, RFC3339_NANO_UTC);
      const ns = epochNs(l.time);
      assert.ok(ns >= r.before && ns <= r.after, `${l.time} falls within the run`);
    }
    const stdoutTimes = r.lines.filter((l) => l.stream === 'stdout').map((l) => epochNs(l.time));
    assert.deepEqual([...stdoutTimes].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), stdoutTimes, 'in order within a stream');
    assert.equal(statSync(r.log).mode & 0o777, 0o640);
  });

  it('cuts a 40 KiB line into 16 KiB partial pieces, and logs a last line without newline as partial', async () => {
    const r = await run("head -c 40960 /dev/zero | tr '\\0' x; echo; echo short; printf 'no newline'");
    assert.deepEqual(r.lines.map((l) => [l.tag, l.text.length]), [['P', 16384], ['P', 16384], ['F', 8192], ['F', 5], ['P', 10]]);
    assert.ok(r.lines.slice(0, 3).every((l) => /^x+$/.test(l.text)));
    assert.equal(r.lines.at(-1)!.text, 'no newline');
  });

  it('takes the maximum line size from the options', async () => {
    // A line of exactly the maximum is whole, also when it ends in "\r\n" (containerd's reader
    // never splits that pair); one byte more makes a partial piece.
    const line = (n: number, c: string, end: string) => `head -c ${n} /dev/zero | tr '\\0' ${c}; printf '${end}'`;
    const r = await run([line(2500, 'y', '\\n'), line(1000, 'z', '\\n'), line(1000, 'w', '\\r\\n'), line(1001, 'v', '\\n')].join('; '), { maxLine: 1000 });
    assert.deepEqual(r.lines.map((l) => [l.tag, l.text.length]), [['P', 1000], ['P', 1000], ['F', 500], ['F', 1000], ['F', 1000], ['P', 1000], ['F', 1]]);
    assert.ok(r.lines[4]!.text.endsWith('w'), 'the "\\r\\n" is the newline');
    const b = makeBundle(['true']);
    bundles.push(b);
    await assert.rejects(service.create('k8s', 'bad-max', { bundle: b.dir, log: { path: join(b.dir, 'log'), format: 'cri', maxLine: 0 } }), /maximum line size must be 1 to 16777216 bytes, not 0/);
    assert.equal(service.list().some((t) => t.id === 'bad-max'), false);
  });

  it('logs a terminal\'s output as stdout, without the terminal\'s carriage returns', async () => {
    const r = await run('echo to-out; echo to-err >&2; printf partial', { terminal: true });
    assert.deepEqual(r.lines.map((l) => [l.stream, l.tag, l.text]), [['stdout', 'F', 'to-out'], ['stdout', 'F', 'to-err'], ['stdout', 'P', 'partial']]);
  });

  it('reopens the log after the kubelet renamed it away: old lines stay, new ones go to a new file', async () => {
    const b = makeBundle(['sh', '-c', 'echo before; while [ ! -e /go ]; do sleep 0.05; done; echo after; echo after-err >&2'], (s) => {
      s.linux!.cgroupsPath = `/berth-test-crilog/${process.pid}/reopen`;
    });
    bundles.push(b);
    const log = join(b.dir, 'logs', '0.log');
    mkdirSync(join(b.dir, 'logs'));
    writeFileSync(log, '2026-11-26T05:40:00.5Z stdout F from an earlier run\n'); // appended to, not replaced
    await service.create('k8s', 'reopen', { bundle: b.dir, log: { path: log, format: 'cri' } });
    await service.start('k8s', 'reopen');
    await waitFor(() => readFileSync(log, 'utf8').includes('before'));
    renameSync(log, `${log}.20261126-054200`); // the kubelet's rotation
    assert.equal(await service.shim('k8s', 'reopen').reopenLog(), 'ok');
    assert.equal(existsSync(log), true, 'a new file at the path');
    assert.equal(statSync(log).mode & 0o777, 0o640);
    writeFileSync(join(b.rootfs, 'go'), '');
    assert.equal((await service.wait('k8s', 'reopen')).status, 0);
    assert.deepEqual(criLines(`${log}.20261126-054200`).map((l) => l.text), ['from an earlier run', 'before']);
    assert.deepEqual(criLines(log).map((l) => [l.stream, l.text]).sort(), [['stderr', 'after-err'], ['stdout', 'after']]);
    await service.delete('k8s', 'reopen');
  });

  it('reports a reopen that fails, and keeps logging to the file it has', async () => {
    const b = makeBundle(['sh', '-c', 'echo one; while [ ! -e /go ]; do sleep 0.05; done; echo two'], (s) => {
      s.linux!.cgroupsPath = `/berth-test-crilog/${process.pid}/reopen-fail`;
    });
    bundles.push(b);
    const log = join(b.dir, 'logs', '0.log');
    mkdirSync(join(b.dir, 'logs'));
    await service.create('k8s', 'reopen-fail', { bundle: b.dir, log: { path: log, format: 'cri' } });
    await service.start('k8s', 'reopen-fail');
    await waitFor(() => readFileSync(log, 'utf8').includes('one'));
    renameSync(join(b.dir, 'logs'), join(b.dir, 'logs.gone')); // the pod's log directory is gone
    await assert.rejects(service.shim('k8s', 'reopen-fail').reopenLog(), /reopen log .*0\.log: No such file or directory/);
    writeFileSync(join(b.rootfs, 'go'), '');
    assert.equal((await service.wait('k8s', 'reopen-fail')).status, 0);
    assert.deepEqual(criLines(join(b.dir, 'logs.gone', '0.log')).map((l) => l.text), ['one', 'two']);
    await service.delete('k8s', 'reopen-fail');

    // A task without a log has nothing to reopen.
    const quiet = makeBundle(['sleep', '10'], (s) => { s.linux!.cgroupsPath = `/berth-test-crilog/${process.pid}/quiet`; });
    bundles.push(quiet);
    await service.create('k8s', 'quiet', { bundle: quiet.dir });
    await assert.rejects(service.shim('k8s', 'quiet').reopenLog(), /the process has no log/);
    await service.delete('k8s', 'quiet', true);
  });
});
