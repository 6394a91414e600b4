// The cgroup driver's public surface: open a manager, plus the helpers callers need around it.
export { DEFAULT_CGROUP_ROOT, openCgroupManager } from './manager.js';
export type { CgroupFs, CgroupManager, CgroupOptions, CgroupStats } from './manager.js';
export { v2DeviceRulesUnsupported } from './devices.js';
export { blkioWeightToIoWeight, sharesToWeight, swapMaxV2 } from './convert.js';
export { runcStatsData, stringifyStats } from './stats.js';
export { UINT64_MAX } from './parse.js';
