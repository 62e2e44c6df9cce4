// A throwaway 3-node raftkv cluster on free loopback ports (data in a temp dir), ready when every node
// answers a linearizable etcd Range: the system under test.
import { localNodes, nodeArgs, peersFlag, removeDir, requireBuilt, serverMain, spawnTracked, tempDir } from '@raftkv/testkit';
import type { ChildProcess } from 'node:child_process';
import { waitServing } from './etcdctl.js';
import type { Target } from './target.js';

const MAIN = serverMain(import.meta.url);

export async function startRaftkv(size = 3): Promise<Target> {
  requireBuilt(MAIN);
  const root = tempDir('raftkv-compat-');
  const nodes = await localNodes(size, root);
  const output: string[] = [];
  const procs: { proc: ChildProcess; exited: Promise<void> }[] = nodes.map((n) => {
    const args = nodeArgs({
      id: n.id,
      listen: n.address,
      dataDir: n.dataDir,
      membership: { peers: peersFlag(nodes) },
      timing: { electionTimeoutMinMs: 400, electionTimeoutMaxMs: 800, heartbeatMs: 50 },
    });
    const proc = spawnTracked(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer): void => void output.push(`[${n.id}] ${b.toString()}`);
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    return { proc, exited: new Promise<void>((resolve) => proc.once('exit', () => resolve())) };
  });
  const stop = async (): Promise<void> => {
    await Promise.all(
      procs.map(async ({ proc, exited }) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return;
        proc.kill('SIGKILL');
        await exited;
      }),
    );
    removeDir(root);
  };
  const endpoints = nodes.map((n) => n.address);
  try {
    for (const e of endpoints) await waitServing(e);
  } catch (e) {
    await stop();
    const last = output.join('').slice(-3000);
    throw new Error(`raftkv did not serve etcd's KV API: ${(e as Error).message}\nits last output:\n${last}`, { cause: e });
  }
  return { name: 'raftkv', endpoints, stop, logs: () => output.join('') };
}
