// Namespace names and labels as containerd checks them. Every supervisor object lives in one
// namespace; the engine's in "moby", ctr's in "default" unless told otherwise.
import { invalid } from '../../common/errors.js';

/** containerd's default namespace (what ctr uses without -n): also the stores' default view. */
export const DEFAULT_NAMESPACE = 'default';
/** Where objects written before the stores were namespaced belong: they were the engine's. */
export const LEGACY_NAMESPACE = 'moby';

// containerd's identifiers: alphanumeric runs joined by single ".", "_" or "-", at most 76 long.
// (Written as containerd writes it, since its source appears in the error message.)
const IDENTIFIER = /^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$/;
const MAX_IDENTIFIER = 76;

export function validateNamespace(name: string): string {
  if (!name) throw invalid('namespace is required: set one (ctr -n NAME, or the containerd-namespace gRPC metadata)');
  if (name.length > MAX_IDENTIFIER) throw invalid(`namespace validation: identifier "${name}" greater than maximum length (${MAX_IDENTIFIER} characters)`);
  if (!IDENTIFIER.test(name)) throw invalid(`namespace validation: identifier "${name}" must match ${IDENTIFIER.source}`);
  return name;
}

export const isNamespaceName = (name: string): boolean => name.length <= MAX_IDENTIFIER && IDENTIFIER.test(name);

const MAX_LABEL = 4096;

/** containerd's label rule: key and value together at most 4096 bytes. */
export function validateLabels(labels: Record<string, string> | undefined, what = 'labels'): Record<string, string> {
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (Buffer.byteLength(k) + Buffer.byteLength(v) > MAX_LABEL) throw invalid(`${what}: label key and value greater than maximum size (${MAX_LABEL} bytes), key: ${k.slice(0, 64)}`);
  }
  return labels ?? {};
}
