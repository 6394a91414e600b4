// The same scripted docker CLI session (docker-session.ts) against Debian's real dockerd, so that
// every expectation the berthd run checks is shown to be Docker's behaviour. dockerd runs with
// --live-restore: berthd always keeps containers running across its own restarts.
import { describe } from 'node:test';
import { haveDockerd, startDockerd } from '../../helpers/dockerd.js';
import { dockerCliSession } from './docker-session.js';

describe('the docker CLI against Debian\'s dockerd (the reference)', { skip: haveDockerd() ? false : 'dockerd not installed' }, () => {
  dockerCliSession(async () => {
    const d = await startDockerd({ network: true, liveRestore: true });
    const apiVersion = (await d.docker(['version', '--format', '{{.Server.APIVersion}}'])).stdout.trim();
    return { ...d, apiVersion, storageDriver: 'overlay2' };
  });
});
