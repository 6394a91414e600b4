// CniManager: pod networking for the CRI, as containerd's CRI does it through go-cni and libcni.
//
//   const cni = new CniManager({ confDir: '/etc/cni/net.d', cacheDir: '/var/lib/berth/cni' });
//   (await cni.status()).ready;                                  // the CRI's NetworkReady condition
//   const net = await cni.setup(podId, netnsPath, { args: kubernetesPodArgs({ ... }), portMappings });
//   net.ip;                                                      // '10.88.0.5': PodSandboxNetworkStatus.ip
//   await cni.check(podId, netnsPath);                           // CHECK (0.4.0+ networks)
//   await cni.teardown(podId, netnsPath);                        // DEL; idempotent, netns may be gone
//
// A pod gets two networks, in this order: containerd's built-in "cni-loopback" (the loopback
// plugin on "lo"; option `loopback: false` leaves it out) and the conf dir's network on "eth0".
// Set-up of each is recorded in the result cache first, so teardown undoes exactly what set-up
// did with the configuration and arguments of that time, in reverse, even if the conf dir has
// changed since; a failed set-up is undone at once and leaves nothing allocated. Calls for one
// pod are serialized.
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { debuglog } from 'node:util';
import { BerthError, invalid } from '../../common/errors.js';
import { isNetnsMounted } from '../netns.js';
import { ResultCache, type CacheEntry } from './cache.js';
import { LOOPBACK_NETWORK, NoNetworkConfigError, loadNetwork } from './config.js';
import { addList, checkList, delList, resolvePlugins, versionAtLeast, type Attachment, type PluginRunner } from './list.js';
import { parseResult, podNetworkOf } from './result.js';
import { CNI_NAME_PATTERN, type CniStatus, type NetworkConfigList, type PodNetwork, type PodNetworkOptions, type PortMapping } from './types.js';

const debug = debuglog('berth:cni');

/** Where plugins are looked for when the caller names no dirs: containerd's default, then Debian's. */
export const DEFAULT_BIN_DIRS = ['/opt/cni/bin', '/usr/lib/cni'];
export const DEFAULT_PLUGIN_TIMEOUT_MS = 60_000;

export interface CniManagerOptions {
  /** Directory of .conflist/.conf/.json files; the lexically first one is the pod network (e.g. /etc/cni/net.d). */
  confDir: string;
  /** Plugin directories, searched in order and passed to plugins as CNI_PATH. */
  binDirs?: string[];
  /** Directory of the result cache (berth's counterpart of /var/lib/cni). */
  cacheDir: string;
  /** The pod's interface for the conf dir's network; default "eth0" (go-cni's prefix "eth" + 0). */
  ifName?: string;
  /** Set up containerd's "cni-loopback" network on "lo" first; default true. */
  loopback?: boolean;
  /** Deadline of one plugin call; default 60 s. A plugin past it is killed with its process group. */
  pluginTimeoutMs?: number;
}

/** CNI_ARGS of a Kubernetes pod, as containerd's CRI passes them. */
export function kubernetesPodArgs(pod: { namespace: string; name: string; uid: string; infraContainerId: string }): Array<[string, string]> {
  return [
    ['IgnoreUnknown', '1'],
    ['K8S_POD_NAMESPACE', pod.namespace],
    ['K8S_POD_NAME', pod.name],
    ['K8S_POD_INFRA_CONTAINER_ID', pod.infraContainerId],
    ['K8S_POD_UID', pod.uid],
  ];
}

function checkArgs(args: Array<[string, string]>): Array<[string, string]> {
  for (const [k, v] of args) {
    if (typeof k !== 'string' || k === '' || /[=;]/.test(k)) throw invalid(`CNI argument name ${JSON.stringify(k)} must be non-empty without "=" or ";"`);
    if (typeof v !== 'string' || v.includes(';')) throw invalid(`CNI argument ${k}'s value ${JSON.stringify(v)} must be a string without ";"`);
  }
  return args.map(([k, v]) => [k, v]);
}

/** CRI port mappings for the portmap plugin: lower-case protocol, those without a host port left out (as containerd). */
export function portMappingsOf(mappings: NonNullable<PodNetworkOptions['portMappings']>): PortMapping[] {
  const out: PortMapping[] = [];
  for (const [i, m] of mappings.entries()) {
    const port = (v: unknown, what: string, min: number): number => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > 65535) throw invalid(`portMappings[${i}].${what} ${String(v)} must be an integer from ${min} to 65535`);
      return v;
    };
    const hostPort = port(m.hostPort ?? 0, 'hostPort', 0);
    const containerPort = port(m.containerPort, 'containerPort', 1);
    const protocol = (m.protocol ?? 'tcp').toLowerCase();
    if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'sctp') throw invalid(`portMappings[${i}].protocol "${m.protocol}" must be tcp, udp or sctp`);
    if (hostPort === 0) continue;
    const pm: PortMapping = { hostPort, containerPort, protocol };
    if (m.hostIP) pm.hostIP = m.hostIP;
    out.push(pm);
  }
  return out;
}

function capabilityArgsOf(opts: PodNetworkOptions): Record<string, unknown> {
  const caps: Record<string, unknown> = { ...(opts.capabilityArgs ?? {}) };
  if (opts.portMappings) caps['portMappings'] = portMappingsOf(opts.portMappings);
  if (opts.bandwidth) caps['bandwidth'] = opts.bandwidth;
  if (opts.dns) caps['dns'] = opts.dns;
  return caps;
}

function checkPodId(podId: string): void {
  if (typeof podId !== 'string' || !CNI_NAME_PATTERN.test(podId)) throw invalid(`pod sandbox ID ${JSON.stringify(podId)} must be letters, digits, "_", "." and "-", starting with a letter or digit`);
}

function checkIfName(ifName: string): void {
  if (!ifName || ifName.length > 15 || ifName === '.' || ifName === '..' || /[/:\s]/.test(ifName)) {
    throw invalid(`interface name ${JSON.stringify(ifName)} must be 1 to 15 characters without "/", ":" or spaces`);
  }
}

export class CniManager {
  readonly confDir: string;
  readonly binDirs: readonly string[];
  readonly ifName: string;
  private readonly cache: ResultCache;
  private readonly loopback: boolean;
  private readonly runner: PluginRunner;
  private readonly podLocks = new Map<string, Promise<unknown>>();

  constructor(opts: CniManagerOptions) {
    if (!opts.confDir || !isAbsolute(opts.confDir)) throw invalid(`CNI confDir ${JSON.stringify(opts.confDir)} must be an absolute path`);
    if (!opts.cacheDir || !isAbsolute(opts.cacheDir)) throw invalid(`CNI cacheDir ${JSON.stringify(opts.cacheDir)} must be an absolute path`);
    this.confDir = opts.confDir;
    this.binDirs = [...(opts.binDirs ?? DEFAULT_BIN_DIRS)];
    this.ifName = opts.ifName ?? 'eth0';
    checkIfName(this.ifName);
    this.cache = new ResultCache(opts.cacheDir);
    this.loopback = opts.loopback ?? true;
    this.runner = { binDirs: this.binDirs, timeoutMs: opts.pluginTimeoutMs ?? DEFAULT_PLUGIN_TIMEOUT_MS };
  }

  /** Whether a valid network config is present: the CRI's NetworkReady condition, worded as containerd words it. */
  async status(): Promise<CniStatus> {
    try {
      const net = await loadNetwork(this.confDir);
      return { ready: true, network: { name: net.name, file: net.source, cniVersion: net.cniVersion, plugins: net.plugins.map((p) => p.type) } };
    } catch (err) {
      return { ready: false, reason: 'NetworkPluginNotReady', message: 'Network plugin returns error: cni plugin not initialized', detail: (err as Error).message };
    }
  }

  /** The networks a pod gets now, with the interface each goes on. Throws when the conf dir has none or a broken one. */
  private async networks(): Promise<Array<{ list: NetworkConfigList; ifName: string }>> {
    const main = await loadNetwork(this.confDir);
    return [...(this.loopback ? [{ list: LOOPBACK_NETWORK, ifName: 'lo' }] : []), { list: main, ifName: this.ifName }];
  }

  /** Runs `fn` after the pod's earlier calls have finished. */
  private serialized<T>(podId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.podLocks.get(podId) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.then(() => {}, () => {});
    this.podLocks.set(podId, settled);
    void settled.then(() => {
      if (this.podLocks.get(podId) === settled) this.podLocks.delete(podId);
    });
    return next;
  }

  /**
   * ADD: attaches the pod's netns to the loopback and the configured network. Errors: no or a
   * broken config (FAILED_PRECONDITION naming file and field), a missing plugin (naming it and
   * the dirs searched), a plugin's failure (CniPluginError naming plugin and message); in every
   * case what was set up is deleted again before the error is thrown. Should that DEL fail too,
   * the error says so and the cache keeps what teardown() needs to finish it (containerd's CRI
   * always tears down after a failed set-up).
   */
  async setup(podId: string, netnsPath: string, opts: PodNetworkOptions = {}): Promise<PodNetwork> {
    checkPodId(podId);
    if (!netnsPath || !isAbsolute(netnsPath)) throw invalid(`network namespace path ${JSON.stringify(netnsPath)} must be an absolute path`);
    const args = checkArgs(opts.args ?? []);
    const capabilityArgs = capabilityArgsOf(opts);
    return this.serialized(podId, async () => {
      if (!existsSync(netnsPath)) throw new BerthError('NOT_FOUND', `network namespace ${netnsPath} of pod ${podId} does not exist`);
      if (this.cache.forPod(podId).length > 0) throw new BerthError('ALREADY_EXISTS', `pod ${podId} already has its network set up: tear it down first`);
      const networks = await this.networks();
      for (const n of networks) await resolvePlugins(n.list, this.binDirs); // a missing plugin fails before anything is made
      const done: CacheEntry[] = [];
      const results: PodNetwork['results'] = [];
      try {
        for (const [order, { list, ifName }] of networks.entries()) {
          const entry: CacheEntry = { kind: 'cniCacheV1', containerId: podId, ifName, networkName: list.name, netns: netnsPath, config: list, cniArgs: args, capabilityArgs, order };
          this.cache.write(entry);
          done.push(entry);
          const { raw, result } = await addList(this.runner, list, { containerId: podId, netns: netnsPath, ifName, args, capabilityArgs });
          entry.result = raw;
          this.cache.write(entry);
          results.push({ network: list.name, ifName, result });
        }
      } catch (err) {
        const cleanupErrors = await this.undo(done.reverse(), netnsPath);
        if (cleanupErrors.length === 0) throw err;
        throw new BerthError(err instanceof BerthError ? err.code : 'INTERNAL', `${(err as Error).message} (and undoing the set-up failed: ${cleanupErrors.join('; ')}; teardown() tries again)`, { cause: err });
      }
      return podNetworkOf(results, this.ifName);
    });
  }

  /** DELs the given attachments (in the order given), removing each one's cache entry; returns the failures. */
  private async undo(entries: CacheEntry[], netnsPath: string): Promise<string[]> {
    const failures: string[] = [];
    for (const e of entries) {
      try {
        await delList(this.runner, e.config, this.attachmentOf(e, netnsPath), e.result);
        this.cache.remove(e);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
    return failures;
  }

  private attachmentOf(e: CacheEntry, netnsPath: string | undefined): Attachment {
    return { containerId: e.containerId, netns: netnsPath ?? e.netns, ifName: e.ifName, args: e.cniArgs, capabilityArgs: e.capabilityArgs };
  }

  /**
   * DEL: detaches the pod from what set-up attached it to, using the cached configuration and
   * arguments (in reverse set-up order), then removes the cache entries. Idempotent: with no cache
   * entry it DELs by the current config and the arguments given here (plugins treat what is gone as
   * deleted), and with no config either there is nothing to do. `netnsPath` may be "" or name a
   * namespace that is already gone. A plugin failing leaves its cache entry so a retry can finish.
   */
  async teardown(podId: string, netnsPath = '', opts: PodNetworkOptions = {}): Promise<void> {
    checkPodId(podId);
    const args = checkArgs(opts.args ?? []);
    const capabilityArgs = capabilityArgsOf(opts);
    return this.serialized(podId, async () => {
      // Plugins cope with a namespace that is gone, but some can only undo what they find in it
      // (the bridge plugin's masquerade rules): containerd tears the network down before removing
      // the namespace. A path that holds no namespace goes to the plugins as "" (none): the bridge
      // plugin takes a missing path as gone, but refuses a plain file left there by a daemon killed
      // half-way through making or removing the namespace ("unknown FS magic"), and the pod could
      // never be torn down (containerd's CRI passes "" for a namespace that is closed).
      const live = (path: string): string => {
        if (path && !isNetnsMounted(path)) {
          debug('teardown of %s: network namespace %s is already gone', podId, path);
          return '';
        }
        return path;
      };
      this.cache.removeUnfinishedWrites(podId);
      const entries = this.cache.forPod(podId);
      if (entries.length > 0) {
        for (const e of entries.reverse()) {
          await delList(this.runner, e.config, this.attachmentOf(e, live(netnsPath || e.netns)), e.result);
          this.cache.remove(e);
        }
        return;
      }
      let networks;
      try {
        networks = await this.networks();
      } catch (err) {
        if (!(err instanceof NoNetworkConfigError)) debug('teardown of %s: nothing cached and the config cannot be loaded (%s): nothing to delete', podId, (err as Error).message);
        return;
      }
      for (const { list, ifName } of networks.reverse()) {
        await delList(this.runner, list, { containerId: podId, netns: live(netnsPath), ifName, args, capabilityArgs }, undefined);
      }
    });
  }

  /**
   * CHECK: asks every plugin whether the pod's network is still as set up (networks of version
   * 0.4.0 and later; the built-in loopback network, 0.3.1, is skipped as in containerd's use).
   * Errors: NOT_FOUND when the pod has no network set up, or the plugin's error.
   */
  async check(podId: string, netnsPath: string): Promise<void> {
    checkPodId(podId);
    return this.serialized(podId, async () => {
      const entries = this.cache.forPod(podId);
      if (entries.length === 0) throw new BerthError('NOT_FOUND', `pod ${podId} has no network set up`);
      for (const e of entries) {
        if (e.config.source === LOOPBACK_NETWORK.source && !versionAtLeast(e.config.cniVersion, '0.4.0')) continue;
        if (e.result === undefined) throw new BerthError('FAILED_PRECONDITION', `pod ${podId}: the set-up of network "${e.networkName}" did not finish`);
        await checkList(this.runner, e.config, this.attachmentOf(e, netnsPath || e.netns), e.result);
      }
    });
  }

  /** The pod's network as set up, from the cache (e.g. for PodSandboxStatus after a daemon restart); undefined when none. */
  podNetwork(podId: string): PodNetwork | undefined {
    checkPodId(podId);
    const entries = this.cache.forPod(podId);
    if (entries.length === 0 || entries.some((e) => e.result === undefined)) return undefined;
    const results = entries.map((e) => ({ network: e.networkName, ifName: e.ifName, result: parseResult(e.result, e.config.cniVersion, `cached result of network "${e.networkName}"`) }));
    const main = entries[entries.length - 1]!.ifName;
    return podNetworkOf(results, main);
  }
}
