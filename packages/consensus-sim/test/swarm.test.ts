// The randomized simulation in the default test run: SEEDS seeds, each drawing its own cluster size,
// timeouts, network quality and faults (swarm testing), checked for safety on every Ready and for
// liveness after healing. The seeds run in the compiled simulator (`npm test` runs tsc first), in
// two processes, one per core: that is about twice as fast as inside jest's module sandbox.
// A failure prints its seed and the violated property; reproduce it with
//   pnpm --filter @raftkv/consensus-sim sim --first-seed <seed> --seeds 1
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runSeed } from '../src/swarm.js';

const SEEDS = 500;
const SHARDS = 2;
const SIM = fileURLToPath(new URL('../dist-test/scripts/sim.js', import.meta.url));

function sim(firstSeed: number, seeds: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SIM, '--first-seed', String(firstSeed), '--seeds', String(seeds)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe(`swarm simulation, ${SEEDS} seeds`, () => {
  test('every seed keeps every safety property and recovers after healing', async () => {
    const per = SEEDS / SHARDS;
    const shards = await Promise.all(Array.from({ length: SHARDS }, (_, i) => sim(1 + i * per, per)));
    for (const { code, out } of shards) {
      // On failure the whole output (shape, trace, seed, property) is the assertion message.
      const lines = out.trim().split('\n');
      expect(lines.at(-1)).toBe(`${per} seeds passed`);
      expect(code).toBe(0);
      // The runs were not vacuous: faults struck, elections happened, and yet work got done.
      const stats = lines.slice(-3, -1).join(' ');
      const stat = (name: string): number => Number(new RegExp(`${name}=(\\d+)`).exec(stats)?.[1] ?? 0);
      expect(stat('terms')).toBeGreaterThan(2 * per);
      expect(stat('committed')).toBeGreaterThan(50 * per);
      expect(stat('crashes')).toBeGreaterThan(per);
      expect(stat('partitions')).toBeGreaterThan(per / 2);
      expect(stat('oneWayCuts')).toBeGreaterThan(per / 4);
      expect(stat('disconnects')).toBeGreaterThan(per / 2);
      expect(stat('reads')).toBeGreaterThan(10 * per);
      // Membership changes committed, some while a node was down or a link cut.
      expect(stat('confChanges')).toBeGreaterThan(per / 4);
      expect(stat('confChangesUnderFaults')).toBeGreaterThan(per / 20);
      // ...and the driver took the contract's relaxations: early sends, input stepped while a
      // write was under way, crashes during a write that kept it or lost it whole.
      expect(stat('asyncSeeds')).toBeGreaterThan(per / 3);
      expect(stat('earlySends')).toBeGreaterThan(50 * per);
      expect(stat('inputsDuringWrite')).toBeGreaterThan(200 * per);
      expect(stat('crashKeptWrite')).toBeGreaterThan(per / 20);
      expect(stat('crashLostWrite')).toBeGreaterThan(per / 20);
    }
  }, 600_000);
});

describe('reproducibility', () => {
  test('a seed replays bit for bit: same trace, same outcome', () => {
    // Seed 98 takes both relaxations: early sends, and asynchronous writes with a bad disk and crashes during writes.
    const s98 = runSeed(98);
    expect([s98.shape.earlySend, s98.shape.asyncPersist, s98.shape.slowDiskNode >= 0]).toEqual([true, true, true]);
    expect(s98.relaxations.earlySends * s98.relaxations.inputsDuringWrite * s98.relaxations.crashKeptWrite).toBeGreaterThan(0);
    for (const seed of [3, 77, 98]) {
      const a = runSeed(seed, { traceLines: 1_000_000 });
      const b = runSeed(seed, { traceLines: 1_000_000 });
      expect(a.ok).toBe(true);
      expect(a.trace.length).toBeGreaterThan(100);
      expect(b.simulatedMs).toBe(a.simulatedMs);
      expect(b.committed).toBe(a.committed);
      expect(b.trace).toEqual(a.trace);
    }
  }, 60_000);
});
