// containerd 1.6's API definitions, loaded at start from the .proto files Debian installs:
// golang-github-containerd-containerd-dev for the services and
// types, golang-github-gogo-protobuf-dev and golang-github-gogo-googleapis-dev for what they
// import, libprotobuf-dev for Google's well-known types. protobufjs parses them at run time, so
// the wire format is exactly the files' — no generated code to drift from them.
import { join } from 'node:path';
import type protobuf from 'protobufjs';
import { type IncludeDir, loadProtoFiles } from '../../common/grpc/proto-loader.js';

const GOCODE = '/usr/share/gocode/src';

/** Where imports are looked up, in order, and which package provides each. */
export const INCLUDE_DIRS: readonly IncludeDir[] = [
  { dir: GOCODE, probe: 'github.com/containerd/containerd/api/services/version/v1/version.proto', pkg: 'golang-github-containerd-containerd-dev' },
  { dir: join(GOCODE, 'github.com/gogo/protobuf'), probe: 'gogoproto/gogo.proto', pkg: 'golang-github-gogo-protobuf-dev' },
  { dir: join(GOCODE, 'github.com/gogo/googleapis'), probe: 'google/rpc/status.proto', pkg: 'golang-github-gogo-googleapis-dev' },
  { dir: '/usr/include', probe: 'google/protobuf/timestamp.proto', pkg: 'libprotobuf-dev' },
];

const API = 'github.com/containerd/containerd/api';

/** The service files served, plus the event payloads (events travel as Any and need their types). */
const FILES = [
  'services/version/v1/version.proto',
  'services/introspection/v1/introspection.proto',
  'services/namespaces/v1/namespace.proto',
  'services/content/v1/content.proto',
  'services/images/v1/images.proto',
  'services/leases/v1/leases.proto',
  'services/snapshots/v1/snapshots.proto',
  'services/diff/v1/diff.proto',
  'services/events/v1/events.proto',
  'services/containers/v1/containers.proto',
  'services/tasks/v1/tasks.proto',
  'events/content.proto',
  'events/image.proto',
  'events/namespace.proto',
  'events/snapshot.proto',
  'events/container.proto',
  'events/task.proto',
].map((f) => `${API}/${f}`).concat([
  // Not services but what travels in their Any fields: runc's options (BinaryName) and the cgroup
  // v1 and v2 metrics `ctr tasks metrics` decodes.
  'github.com/containerd/containerd/runtime/v2/runc/options/oci.proto',
  'github.com/containerd/cgroups/stats/v1/metrics.proto',
  'github.com/containerd/cgroups/v2/stats/metrics.proto',
]);

let cached: protobuf.Root | undefined;

/** Loads (once) the containerd API; a missing package is named in the error. */
export function loadProtos(includeDirs: readonly IncludeDir[] = INCLUDE_DIRS): protobuf.Root {
  cached ??= loadProtoFiles(includeDirs, FILES, "containerd's API");
  return cached;
}
