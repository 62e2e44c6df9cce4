// Network partitions with Linux network namespaces. Each node runs in its own namespace with one
// address on a bridge that lives in a "client" namespace, where the harness itself runs; nothing is
// added to the host's network. Partitions are iptables DROP rules inside the node namespaces, between
// node addresses only, so clients keep reaching every node (a partitioned leader still gets calls).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { alive, run, succeeds } from './proc.js';

/** All run namespaces are named rkc<supervisor pid>-<role>; stale ones are removed by pid. */
const PREFIX = 'rkc';
const SUBNET = '10.241.0';
const CLIENT_HOST = 100;

export interface Topology {
  readonly tag: string;
  readonly clientNs: string;
  readonly nodeNs: readonly string[];
  /** Node addresses (no port), index-aligned with nodeNs. */
  readonly nodeAddr: readonly string[];
}

export function topologyFor(tag: string, nodes: number): Topology {
  const nodeNs = Array.from({ length: nodes }, (_, i) => `${PREFIX}${tag}-n${i + 1}`);
  return { tag, clientNs: `${PREFIX}${tag}-c`, nodeNs, nodeAddr: nodeNs.map((_, i) => `${SUBNET}.${i + 1}`) };
}

/**
 * Whether partitions can be used here, else why not. As root, a missing iptables is installed with
 * apt-get (the CI machine runs as root on Debian).
 */
export async function netnsSupport(): Promise<{ ok: true } | { ok: false; reason: string }> {
  if (process.platform !== 'linux') return { ok: false, reason: 'network namespaces need Linux' };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'network namespaces need root (run as root, as CI does)' };
  if (!(await succeeds('ip', ['-V']))) return { ok: false, reason: "the 'ip' command (iproute2) is missing: apt-get install -y iproute2" };
  if (!(await succeeds('iptables', ['--version']))) {
    if (existsSync('/usr/bin/apt-get')) {
      process.stderr.write('chaos: iptables missing; installing it with apt-get (root)\n');
      const env = ['-o', 'DPkg::Lock::Timeout=120'];
      if (!(await succeeds('apt-get', ['install', '-y', '--no-install-recommends', ...env, 'iptables']))) {
        await succeeds('apt-get', ['update', ...env]);
        await succeeds('apt-get', ['install', '-y', '--no-install-recommends', ...env, 'iptables']);
      }
    }
    if (!(await succeeds('iptables', ['--version'])))
      return { ok: false, reason: "the 'iptables' command is missing and could not be installed: apt-get install -y iptables" };
  }
  const probe = `${PREFIX}probe${process.pid}`;
  if (!(await succeeds('ip', ['netns', 'add', probe])))
    return { ok: false, reason: "'ip netns add' is not permitted here (no CAP_SYS_ADMIN?)" };
  const filterOk = await succeeds('ip', ['netns', 'exec', probe, 'iptables', '-A', 'INPUT', '-s', '10.241.0.9', '-j', 'DROP']);
  await succeeds('ip', ['netns', 'del', probe]);
  if (!filterOk) return { ok: false, reason: 'iptables rules cannot be installed inside a network namespace here' };
  return { ok: true };
}

/** Creates the namespaces, the bridge (in the client namespace) and one veth per node. */
export async function createTopology(t: Topology): Promise<void> {
  const c = t.clientNs;
  await run('ip', ['netns', 'add', c]);
  await run('ip', ['-n', c, 'link', 'set', 'lo', 'up']);
  await run('ip', ['-n', c, 'link', 'add', 'br0', 'type', 'bridge']);
  await run('ip', ['-n', c, 'addr', 'add', `${SUBNET}.${CLIENT_HOST}/24`, 'dev', 'br0']);
  await run('ip', ['-n', c, 'link', 'set', 'br0', 'up']);
  for (let i = 0; i < t.nodeNs.length; i++) {
    const ns = t.nodeNs[i]!;
    const veth = `v${i + 1}`;
    await run('ip', ['netns', 'add', ns]);
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    // Created inside the client namespace, peer end straight into the node's: never on the host.
    await run('ip', ['-n', c, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await run('ip', ['-n', c, 'link', 'set', veth, 'master', 'br0']);
    await run('ip', ['-n', c, 'link', 'set', veth, 'up']);
    await run('ip', ['-n', ns, 'addr', 'add', `${t.nodeAddr[i]!}/24`, 'dev', 'eth0']);
    await run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
  }
}

/** Kills every process left in the namespaces, then deletes them. Never throws. */
export async function destroyTopology(t: Topology): Promise<void> {
  for (const ns of [...t.nodeNs, t.clientNs]) await destroyNamespace(ns);
}

async function destroyNamespace(ns: string): Promise<void> {
  try {
    const pids = (await run('ip', ['netns', 'pids', ns])).split(/\s+/).filter(Boolean).map(Number);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGCONT');
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  } catch {
    /* namespace absent */
  }
  await succeeds('ip', ['netns', 'del', ns]);
}

/** Removes namespaces of earlier runs whose supervisor died without cleaning up. */
export async function removeStaleNamespaces(): Promise<string[]> {
  let list: string;
  try {
    list = await run('ip', ['netns', 'list']);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const line of list.split('\n')) {
    const name = line.split(/\s/)[0] ?? '';
    const m = new RegExp(`^${PREFIX}(?:probe)?(\\d+)-?`).exec(name);
    if (m === null) continue;
    if (alive(Number(m[1]))) continue;
    await destroyNamespace(name);
    removed.push(name);
  }
  return removed;
}

/**
 * Installs a partition: `reachable(i, j)` says whether nodes i and j may talk. Rules are replaced
 * atomically per namespace (iptables-restore), so a heal is `applyPartition(t, () => true)`.
 */
export async function applyPartition(t: Topology, reachable: (i: number, j: number) => boolean): Promise<void> {
  await Promise.all(
    t.nodeNs.map((ns, i) => {
      const lines = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]'];
      t.nodeAddr.forEach((addr, j) => {
        if (i === j || reachable(i, j)) return;
        lines.push(`-A INPUT -s ${addr}/32 -j DROP`, `-A OUTPUT -d ${addr}/32 -j DROP`);
      });
      lines.push('COMMIT', '');
      return runWithInput('ip', ['netns', 'exec', ns, 'iptables-restore'], lines.join('\n'));
    }),
  );
}

async function runWithInput(cmd: string, args: readonly string[], input: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')}: ${err.trim() || `exit ${code}`}`))));
    p.stdin.end(input);
  });
}
