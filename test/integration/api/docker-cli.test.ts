// The scripted docker CLI session (docker-session.ts) against berthd.
import { describe } from 'node:test';
import { join } from 'node:path';
import { startBerthd } from '../../helpers/berthd.js';
import { dockerCliSession } from './docker-session.js';

describe('the docker CLI against berthd', () => {
  dockerCliSession(async () => {
    const d = await startBerthd();
    return { ...d, netns: join(d.dir, 'host.netns'), apiVersion: '1.45', storageDriver: 'overlayfs' };
  });
});
