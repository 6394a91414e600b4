// Loads .proto files that Debian packages install (never copied into the repository): imports are
// looked up in include directories in order, and a missing package is named in the error, so the
// fix is one apt-get away. protobufjs parses them at run time: the wire format is exactly the
// files', with no generated code to drift from them.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { BerthError } from '../errors.js';

/** An include directory, a file whose presence proves it is installed, and the package providing it. */
export interface IncludeDir {
  dir: string;
  probe: string;
  pkg: string;
}

export function loadProtoFiles(includeDirs: readonly IncludeDir[], files: readonly string[], what: string): protobuf.Root {
  const missing = includeDirs.filter((d) => !existsSync(join(d.dir, d.probe)));
  if (missing.length) {
    throw new BerthError('UNAVAILABLE', `${what} definitions are missing (${missing.map((d) => join(d.dir, d.probe)).join(', ')}): apt-get install ${[...new Set(missing.map((d) => d.pkg))].join(' ')}`);
  }
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const { dir } of includeDirs) {
      const p = join(dir, target);
      if (existsSync(p)) return p;
    }
    return target; // protobufjs reports it as not found (ignored for weak imports)
  };
  root.loadSync([...files], { keepCase: true });
  root.resolveAll();
  return root;
}
