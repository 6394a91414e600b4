// containerd.services.version.v1.Version: the containerd API level berth serves, and berth's own
// version as the revision.
import { unary, type HandlerEnv, type Implementation } from '../handlers.js';

/** containerd's release whose API this is (ctr compares it with its own and warns on a mismatch). */
export const API_VERSION = '1.6.20';
export const BERTH_VERSION = '0.1.0';

export function versionService(env: HandlerEnv): Implementation {
  return {
    Version: unary(env, 'version.Version', () => ({ version: API_VERSION, revision: `berth-${BERTH_VERSION}` })),
  };
}
