// The CRI's API definitions (k8s.io/cri-api's runtime/v1 api.proto), loaded at start from the file
// Debian's golang-github-kubernetes-cri-api-dev installs (scripts/install-deps.sh brings it in),
// with gogoproto's options from golang-github-gogo-protobuf-dev. Never copied into the repository.
import { join } from 'node:path';
import type protobuf from 'protobufjs';
import { type IncludeDir, loadProtoFiles } from '../common/grpc/proto-loader.js';

const GOCODE = '/usr/share/gocode/src';

export const CRI_INCLUDE_DIRS: readonly IncludeDir[] = [
  { dir: GOCODE, probe: 'k8s.io/cri-api/pkg/apis/runtime/v1/api.proto', pkg: 'golang-github-kubernetes-cri-api-dev' },
  { dir: join(GOCODE, 'github.com/gogo/protobuf'), probe: 'gogoproto/gogo.proto', pkg: 'golang-github-gogo-protobuf-dev' },
  { dir: '/usr/include', probe: 'google/protobuf/descriptor.proto', pkg: 'libprotobuf-dev' },
];

export const RUNTIME_SERVICE = 'runtime.v1.RuntimeService';
export const IMAGE_SERVICE = 'runtime.v1.ImageService';

let cached: protobuf.Root | undefined;

export function loadCriProtos(): protobuf.Root {
  cached ??= loadProtoFiles(CRI_INCLUDE_DIRS, ['k8s.io/cri-api/pkg/apis/runtime/v1/api.proto'], "the CRI's API");
  return cached;
}
