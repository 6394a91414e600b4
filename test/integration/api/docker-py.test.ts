// The Docker SDK for Python (Debian's python3-docker, which docker-compose brings) against berthd,
// unchanged: run, logs, exec (whose output the SDK reads through a buffered HTTP response: output
// sent with the 101 answer was lost), stats, archives, rename, pause, wait, diff, commit, build,
// volumes, networks with aliases, attach over a socket, events and prune. Skipped when the module
// is not installed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importBusyboxImage } from '../../helpers/busybox.js';
import { startBerthd, type TestBerthd } from '../../helpers/berthd.js';
import { cleanupDir, runCommand } from '../../helpers/runtime.js';

const work = mkdtempSync(join(tmpdir(), 'berth-dockerpy-'));
const haveSdk = spawnSync('python3', ['-c', 'import docker'], { stdio: 'ignore' }).status === 0;

/** The session, in Python: each step asserts, and "done" is printed at the end. */
const SESSION = String.raw`
import docker, io, sys, tarfile, time
c = docker.DockerClient(base_url=sys.argv[1])
assert c.ping()
assert c.containers.run('bb', ['echo', 'hi'], remove=True, network_mode='none') == b'hi\n'

ct = c.containers.run('bb', ['sh', '-c', 'echo one; echo two; exec sleep 100'], detach=True, name='py1',
                      environment={'A': '1'}, labels={'x': 'y'}, mem_limit='64m', network_mode='none')
for _ in range(50):
    if ct.logs() == b'one\ntwo\n': break
    time.sleep(0.1)
assert ct.logs(tail=1) == b'two\n', ct.logs()
for _ in range(10):  # output that comes at once must not be lost
    r = ct.exec_run('sh -c "echo $A; id -u"', environment={'A': '2'})
    assert r == (0, b'2\n0\n'), r
assert list(ct.exec_run(['echo', 'streamed'], stream=True).output) == [b'streamed\n']
failed = ct.exec_run(['no-such-command'])
assert failed.exit_code == 126 and b'executable file not found' in failed.output, failed
assert ct.top()['Titles'][-1] == 'CMD'
stats = ct.stats(stream=False)
assert stats['memory_stats']['limit'] == 64 << 20, stats['memory_stats']

buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode='w') as t:
    info = tarfile.TarInfo('f.txt'); info.size = 5
    t.addfile(info, io.BytesIO(b'hello'))
assert ct.put_archive('/tmp', buf.getvalue())
bits, stat = ct.get_archive('/tmp/f.txt')
with tarfile.open(fileobj=io.BytesIO(b''.join(bits))) as t:
    assert t.extractfile('f.txt').read() == b'hello'
assert stat['size'] == 5

ct.rename('py2'); ct.reload()
assert ct.name == 'py2' and ct.labels == {'x': 'y'}
ct.pause(); ct.reload(); assert ct.status == 'paused'
ct.unpause(); ct.reload(); assert ct.status == 'running'
ct.stop(timeout=1)
assert ct.wait() == {'StatusCode': 137, 'Error': None}
assert {'Path': '/tmp/f.txt', 'Kind': 1} in ct.diff()
img = ct.commit(repository='pyimg', tag='1')
assert img.tags == ['pyimg:1']
ct.remove()

img, _ = c.images.build(fileobj=io.BytesIO(b'FROM bb\nRUN echo built > /b\nLABEL a=b\n'), tag='pybuild:1', rm=True)
assert img.labels == {'a': 'b'} and 'pybuild:1' in img.tags
assert c.containers.run('pybuild:1', ['cat', '/b'], remove=True, network_mode='none') == b'built\n'

vol = c.volumes.create('pyvol', labels={'k': 'v'})
net = c.networks.create('pynet', driver='bridge')
ct = c.containers.run('bb', ['sleep', '100'], detach=True, network='pynet', volumes={'pyvol': {'bind': '/v', 'mode': 'rw'}})
net.reload(); assert [x.id for x in net.containers] == [ct.id]
net.disconnect(ct); net.connect(ct, aliases=['foo']); ct.reload()
assert 'foo' in ct.attrs['NetworkSettings']['Networks']['pynet']['Aliases']
ct.remove(force=True); net.remove(); vol.remove()

ct = c.containers.create('bb', ['cat'], stdin_open=True, network_mode='none')
sock = c.api.attach_socket(ct.id, params={'stdin': 1, 'stdout': 1, 'stream': 1})
ct.start()
sock._sock.sendall(b'via attach\n')
got = b''
while b'via attach' not in got:
    got += sock._sock.recv(100)
sock._sock.close()
ct.remove(force=True)

since = int(time.time()) - 120
actions = [e['Action'] for e in c.events(since=since, until=int(time.time()) + 1, decode=True, filters={'container': 'py2'})]
assert 'rename' in actions and 'pause' in actions, actions
assert c.containers.list(all=True) == []
assert 'pyimg:1' in [t for i in c.images.list() for t in i.tags]
print('done')
`;

describe('the Docker SDK for Python against berthd', { skip: !haveSdk && 'python3-docker not installed (apt-get install docker-compose)' }, () => {
  let d: TestBerthd;

  before(async () => {
    d = await startBerthd();
    await importBusyboxImage(d, work);
  });
  after(async () => {
    await d?.stop();
    cleanupDir(work);
  });

  it('runs a session of containers, images, volumes, networks and events', async () => {
    const r = await runCommand('python3', ['-c', SESSION, d.host], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, `${r.stderr}\n--- berthd ---\n${d.log().slice(-2000)}`);
    assert.equal(r.stdout.trim(), 'done');
  });
});
