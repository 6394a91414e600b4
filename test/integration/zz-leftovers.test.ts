// Runs last (files run in name order, one at a time): after the whole suite, nothing the tests
// made may be left on the machine: no berth-init process, no mount, no cgroup, no state directory.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';

// Cgroup names the tests use: container ids from the harness (<prefix>-<pid>-<n>) and test parents.
const TEST_CGROUP = /^(c|diff-[br]|out-[br]|hooks|badhook|tty|ttyc|bad|lib|cli|runc)-\d+-\d+$|^berth-(diff|test|d-)/;

describe('after the suite', () => {
  it('leaves no berth-init process', () => {
    const inits = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return /berth-init/.test(readFileSync(`/proc/${p}/cmdline`, 'utf8'));
      } catch {
        return false;
      }
    });
    assert.deepEqual(inits, []);
  });

  it('leaves no mount under a berth path', () => {
    assert.deepEqual(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes('berth')), []);
  });

  it('leaves no test cgroup in any hierarchy', () => {
    const left: string[] = [];
    for (const h of readdirSync('/sys/fs/cgroup')) {
      let names: string[] = [];
      try {
        names = readdirSync(`/sys/fs/cgroup/${h}`);
      } catch {
        continue;
      }
      for (const n of names) if (TEST_CGROUP.test(n)) left.push(`${h}/${n}`);
    }
    assert.deepEqual(left, []);
  });

  it('leaves no test state root or bundle in the temp directory', () => {
    assert.deepEqual(readdirSync(tmpdir()).filter((n) => /^berth-(rt-root|bundle|runc-root|hooks|console|cli|out)-/.test(n)), []);
  });
});
