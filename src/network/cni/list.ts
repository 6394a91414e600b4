// ADD, DEL and CHECK of one network configuration list, as libcni runs them: every plugin gets its
// own configuration with the list's `name` and `cniVersion` injected, `runtimeConfig` holding the
// capability arguments it declares, and `prevResult`: on ADD the previous plugin's result (plugins
// run in order; the last result is the list's), on DEL (reverse order) and CHECK the cached
// result of the ADD, for lists of version 0.4.0 and later (earlier versions have no prevResult
// there and no CHECK at all).
import { BerthError } from '../../common/errors.js';
import { execPlugin, findPlugin, type CniCommand } from './invoke.js';
import { parseResult } from './result.js';
import type { CniResult, NetworkConfigList, PluginConf } from './types.js';

/** One network attachment of a pod: what the CNI_* variables and runtimeConfig carry. */
export interface Attachment {
  containerId: string;
  /** The netns path; may name a namespace that is already gone on DEL (plugins must cope, per the spec). */
  netns: string;
  ifName: string;
  args: Array<[string, string]>;
  capabilityArgs: Record<string, unknown>;
}

export interface PluginRunner {
  binDirs: readonly string[];
  timeoutMs: number;
}

/** True when version `v` is `min` or later (versions are "major.minor.patch"). */
export function versionAtLeast(v: string, min: string): boolean {
  const a = v.split('.').map(Number);
  const b = min.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

/** The plugin's stdin: its configuration with name, cniVersion, prevResult and runtimeConfig injected. */
export function pluginConfig(list: NetworkConfigList, plugin: PluginConf, prevResult: unknown, capabilityArgs: Record<string, unknown>): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: list.cniVersion };
  if (prevResult !== undefined) conf['prevResult'] = prevResult;
  const runtimeConfig: Record<string, unknown> = {};
  for (const [capability, wanted] of Object.entries(plugin.capabilities ?? {})) {
    if (wanted && capabilityArgs[capability] !== undefined) runtimeConfig[capability] = capabilityArgs[capability];
  }
  if (Object.keys(runtimeConfig).length > 0) conf['runtimeConfig'] = runtimeConfig;
  return conf;
}

/** The CNI_* environment of a call. */
export function pluginEnv(command: CniCommand, att: Attachment, binDirs: readonly string[]): Record<string, string> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: att.containerId,
    CNI_NETNS: att.netns,
    CNI_IFNAME: att.ifName,
    CNI_ARGS: att.args.map(([k, v]) => `${k}=${v}`).join(';'),
    CNI_PATH: binDirs.join(':'),
  };
}

/** Paths of every plugin of the list, found before any runs, so a missing one changes nothing. */
export async function resolvePlugins(list: NetworkConfigList, binDirs: readonly string[]): Promise<string[]> {
  const paths: string[] = [];
  for (const p of list.plugins) {
    try {
      paths.push(await findPlugin(p.type, binDirs));
    } catch (err) {
      throw new BerthError('FAILED_PRECONDITION', `network "${list.name}" (${list.source}): ${(err as Error).message}`);
    }
  }
  return paths;
}

async function call(runner: PluginRunner, command: CniCommand, list: NetworkConfigList, index: number, path: string, att: Attachment, prevResult: unknown): Promise<unknown> {
  const plugin = list.plugins[index]!;
  return execPlugin({
    plugin: plugin.type,
    context: list.plugins.length > 1 ? `plugin ${index + 1} of ${list.plugins.length} of network "${list.name}"` : `network "${list.name}"`,
    path,
    command,
    env: pluginEnv(command, att, runner.binDirs),
    stdin: JSON.stringify(pluginConfig(list, plugin, prevResult, att.capabilityArgs)),
    timeoutMs: runner.timeoutMs,
  });
}

/**
 * ADD: every plugin in order, each given the previous one's result. Returns the last result as the
 * plugin printed it (cached, and the next DEL's prevResult) and in berth's one shape.
 */
export async function addList(runner: PluginRunner, list: NetworkConfigList, att: Attachment): Promise<{ raw: unknown; result: CniResult }> {
  const paths = await resolvePlugins(list, runner.binDirs);
  let raw: unknown;
  let result: CniResult | undefined;
  for (let i = 0; i < list.plugins.length; i++) {
    const out = await call(runner, 'ADD', list, i, paths[i]!, att, raw);
    const who = `CNI plugin ${list.plugins[i]!.type} (ADD, network "${list.name}")`;
    if (out === undefined) throw new BerthError('INTERNAL', `${who} printed no result`);
    result = parseResult(out, list.cniVersion, who);
    // A result without a version is in the configuration's (libcni fills it in the same way).
    raw = { ...(out as Record<string, unknown>), cniVersion: result.cniVersion };
  }
  return { raw, result: result! };
}

/** DEL: every plugin in reverse order. Plugins treat what is already gone as deleted. */
export async function delList(runner: PluginRunner, list: NetworkConfigList, att: Attachment, cachedResult: unknown): Promise<void> {
  const paths = await resolvePlugins(list, runner.binDirs);
  const prev = versionAtLeast(list.cniVersion, '0.4.0') ? cachedResult : undefined;
  for (let i = list.plugins.length - 1; i >= 0; i--) await call(runner, 'DEL', list, i, paths[i]!, att, prev);
}

/** CHECK: every plugin in order with the cached result; a no-op with `disableCheck`. */
export async function checkList(runner: PluginRunner, list: NetworkConfigList, att: Attachment, cachedResult: unknown): Promise<void> {
  if (!versionAtLeast(list.cniVersion, '0.4.0')) {
    throw new BerthError('FAILED_PRECONDITION', `network "${list.name}" (${list.source}): cniVersion ${list.cniVersion} has no CHECK (it came with 0.4.0)`);
  }
  if (list.disableCheck) return;
  const paths = await resolvePlugins(list, runner.binDirs);
  for (let i = 0; i < list.plugins.length; i++) await call(runner, 'CHECK', list, i, paths[i]!, att, cachedResult);
}
