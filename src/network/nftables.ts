// berth's firewall: one nftables ruleset generated from the network state and loaded with
// `nft -f -` in a single transaction (the tables are declared, deleted and made again, so a reader
// never sees half a ruleset). Everything lives in berth's own two tables — `inet <table>` for
// filtering, `ip <table>` for NAT — and no other table is ever touched.
//
// What the rules do, per bridge network:
// - masquerade what its subnet sends out through any other interface (unless internal or
//   enable_ip_masquerade=false);
// - published ports: DNAT to the container for any local destination address, from outside
//   (prerouting) and from the host itself (output, so 127.0.0.1 works with route_localnet on the
//   bridge); hairpin and localhost connections are masqueraded so replies come back through NAT;
// - isolation: nothing crosses from one berth bridge to another, and nothing reaches a container
//   from outside unless it is a reply or DNAT'd (a published port);
// - internal networks: nothing in or out of the bridge, and the host only on the gateway address;
// - the embedded DNS on a gateway answers only its own bridge (and the host), and no container may
//   address the host's loopback (which route_localnet would otherwise allow).
import { BerthError } from '../common/errors.js';
import { mustRun, runTool } from './exec.js';
import type { BridgeFirewall, Proto } from './types.js';

export interface DnatRule {
  proto: Proto;
  /** "0.0.0.0" for every local address. */
  hostIp: string;
  hostPort: number;
  containerIp: string;
  containerPort: number;
}

export interface FirewallModel {
  table: string;
  bridges: BridgeFirewall[];
  dnat: DnatRule[];
}

const q = (name: string): string => `"${name}"`;
const set = (items: string[]): string => (items.length === 1 ? items[0]! : `{ ${items.join(', ')} }`);

function filterTable(m: FirewallModel): string {
  const names = m.bridges.map((b) => q(b.bridge));
  const pre: string[] = [];
  const input: string[] = [];
  const fwd: string[] = [];
  if (names.length) pre.push(`iifname ${set(names)} ip daddr 127.0.0.0/8 drop`);
  for (const b of m.bridges) {
    if (b.dns) input.push(`ip daddr ${b.gateway} meta l4proto { tcp, udp } th dport 53 iifname != { ${q(b.bridge)}, "lo" } drop`);
    if (b.internal) {
      input.push(`iifname ${q(b.bridge)} fib daddr type local ip daddr != ${b.gateway} drop`);
      fwd.push(`iifname ${q(b.bridge)} oifname != ${q(b.bridge)} drop`, `oifname ${q(b.bridge)} iifname != ${q(b.bridge)} drop`);
    }
  }
  fwd.push('ct state established,related accept', 'ct status dnat accept');
  for (const b of m.bridges) fwd.push(`iifname ${q(b.bridge)} oifname ${q(b.bridge)} ${b.icc ? 'accept' : 'drop'}`);
  if (names.length) fwd.push(`iifname ${set(names)} oifname ${set(names)} drop`, `oifname ${set(names)} drop`);
  return [
    `table inet ${m.table} {`,
    '  chain prerouting {',
    '    type filter hook prerouting priority raw; policy accept;',
    ...pre.map((r) => `    ${r}`),
    '  }',
    '  chain input {',
    '    type filter hook input priority filter; policy accept;',
    ...input.map((r) => `    ${r}`),
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    ...fwd.map((r) => `    ${r}`),
    '  }',
    '}',
  ].join('\n');
}

function natTable(m: FirewallModel): string {
  const published = m.dnat.map((d) => `${d.hostIp === '0.0.0.0' ? '' : `ip daddr ${d.hostIp} `}${d.proto} dport ${d.hostPort} dnat to ${d.containerIp}:${d.containerPort}`);
  const post: string[] = [];
  for (const b of m.bridges) {
    if (!b.internal) post.push(`oifname ${q(b.bridge)} ct status dnat ip saddr { ${b.subnet}, 127.0.0.0/8 } masquerade`);
    if (!b.internal && b.masquerade) post.push(`ip saddr ${b.subnet} oifname != ${q(b.bridge)} masquerade`);
  }
  return [
    `table ip ${m.table} {`,
    '  chain prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    '    fib daddr type local jump published',
    '  }',
    '  chain output {',
    '    type nat hook output priority -100; policy accept;',
    '    fib daddr type local jump published',
    '  }',
    '  chain published {',
    ...published.map((r) => `    ${r}`),
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    ...post.map((r) => `    ${r}`),
    '  }',
    '}',
  ].join('\n');
}

/** Drops berth's two tables, if there, in one transaction's worth of script. */
function dropTables(table: string): string {
  return [`table inet ${table}`, `delete table inet ${table}`, `table ip ${table}`, `delete table ip ${table}`].join('\n');
}

/** The whole nft script that replaces berth's tables with the model's rules. */
export function renderRuleset(m: FirewallModel): string {
  return `${dropTables(m.table)}\n${filterTable(m)}\n${natTable(m)}\n`;
}

export function checkTableName(name: string): void {
  if (!/^[A-Za-z][A-Za-z0-9_]{0,31}$/.test(name)) throw new BerthError('INVALID_ARGUMENT', `nftables table name ${JSON.stringify(name)}: use letters, digits and _ (at most 32)`);
}

export async function applyRuleset(m: FirewallModel): Promise<void> {
  await mustRun(`loading nftables table ${m.table}`, 'nft', ['-f', '-'], renderRuleset(m));
}

export async function removeTables(table: string): Promise<void> {
  await mustRun(`removing nftables table ${table}`, 'nft', ['-f', '-'], `${dropTables(table)}\n`);
}

interface NftJson {
  nftables: Array<Record<string, { family?: string; table?: string; name?: string; hook?: string; policy?: string }>>;
}

/** Rules in berth's tables (both families); for tests and leak checks. */
export async function countRules(table: string): Promise<number> {
  let n = 0;
  for (const family of ['inet', 'ip']) {
    const r = await runTool('nft', ['-j', 'list', 'table', family, table]);
    if (r.code !== 0) continue;
    n += (JSON.parse(r.stdout) as NftJson).nftables.filter((o) => 'rule' in o).length;
  }
  return n;
}

/**
 * Base chains of other tables on the forward hook whose policy is drop (Docker's iptables FORWARD
 * chain, a host firewall). nftables runs every base chain at a hook, and a drop anywhere is final,
 * so berth's accepts cannot override them: containers would lose each other (with br_netfilter)
 * and the outside. berth reports them and never touches them.
 */
export async function foreignForwardDrops(table: string): Promise<string[]> {
  const r = await runTool('nft', ['-j', 'list', 'chains']);
  if (r.code !== 0) return [];
  const out: string[] = [];
  for (const o of (JSON.parse(r.stdout) as NftJson).nftables) {
    const c = o['chain'];
    if (c && c.hook === 'forward' && c.policy === 'drop' && c.table !== table) out.push(`${c.family} ${c.table} ${c.name}`);
  }
  return out;
}
