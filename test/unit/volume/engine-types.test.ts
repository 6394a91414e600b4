// The volume layer cannot import the engine's types, so its own are structural copies: this file
// only compiles if the engine's HostConfig, Config.Volumes and SpecInputs.mounts fit them.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerConfig, HostConfig, SpecInputs } from '../../../src/engine/containers/api-types.js';
import type { OciMount, VolumeHostConfig } from '../../../src/volume/types.js';
import type { ResolveMountsInput } from '../../../src/volume/mounts.js';

it("the engine's HostConfig and Config feed resolveMounts, and prepareMounts feeds SpecInputs.mounts", () => {
  const host: HostConfig = { Binds: ['v:/data'], Mounts: [{ Type: 'tmpfs', Target: '/t' }], VolumesFrom: null, Tmpfs: { '/run': '' } };
  const config: ContainerConfig = { Volumes: { '/data': {} } };
  const input: ResolveMountsInput = { containerId: 'c', hostConfig: host satisfies VolumeHostConfig, imageVolumes: config.Volumes };
  const mounts: OciMount[] = [{ destination: '/data', type: 'bind', source: '/x', options: ['rbind', 'rw'] }];
  const inputs: Pick<SpecInputs, 'mounts'> = { mounts };
  assert.equal(input.hostConfig.Binds?.length, 1);
  assert.equal(inputs.mounts?.length, 1);
});
