// Leader-failure benchmark (not a test): the Raft paper's Figure 16 experiment in simulation.
//   pnpm --filter @raftkv/consensus-sim bench:election [--runs 1000] [--nodes 5] [--min 150] [--max 300]
// Each run: a cluster with a few ms of network latency elects a leader and settles; the leader then
// crashes at a uniformly random point of its heartbeat interval; we time (in simulated ms) until a
// new leader is elected. Printed per configuration: mean, p50, p99, max.
import { Cluster } from '../src/cluster.js';

interface Args {
  runs: number;
  nodes: number;
  minMs: number;
  maxMs: number;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { runs: 1000, nodes: 5, minMs: 150, maxMs: 300 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--') continue;
    const n = Number(argv[++i]);
    if (!Number.isSafeInteger(n) || n <= 0) {
      console.error(`bench:election: ${flag} needs a positive integer`);
      process.exit(2);
    }
    if (flag === '--runs') args.runs = n;
    else if (flag === '--nodes') args.nodes = n;
    else if (flag === '--min') args.minMs = n;
    else if (flag === '--max') args.maxMs = n;
    else {
      console.error(`bench:election: unknown flag ${flag}`);
      process.exit(2);
    }
  }
  return args;
}

const HEARTBEAT_MS = 50;
const DELAY_MS: [number, number] = [1, 5];

/** Simulated ms from the leader's crash until another node becomes leader. */
function oneRun(seed: number, a: Args, preVote: boolean, checkQuorum: boolean): number {
  const c = new Cluster({
    seed,
    size: a.nodes,
    raft: {
      electionTimeoutMinMs: a.minMs,
      electionTimeoutMaxMs: a.maxMs,
      heartbeatIntervalMs: Math.min(HEARTBEAT_MS, Math.floor(a.minMs / 2)),
      preVote,
      checkQuorum,
    },
    network: { delayMinMs: DELAY_MS[0], delayMaxMs: DELAY_MS[1] },
  });
  if (!c.runUntil(() => c.leader() !== undefined, 20 * a.maxMs)) throw new Error(`seed ${seed}: no first leader`);
  // Settle, then crash at a uniformly random point within a heartbeat interval (as in §9.3).
  c.runFor(3 * a.maxMs + c.rng.int(0, HEARTBEAT_MS - 1));
  const old = c.leader();
  if (old === undefined) throw new Error(`seed ${seed}: leader lost before the crash`);
  const oldTerm = old.hardState.term;
  c.crash(old.id);
  const crashedAt = c.nowMs;
  if (!c.runUntil(() => (c.leader()?.hardState.term ?? 0) > oldTerm, 100 * a.maxMs)) throw new Error(`seed ${seed}: no new leader`);
  return c.nowMs - crashedAt;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const a = parseArgs(process.argv.slice(2));
console.log(
  `leader crash → new leader, ${a.runs} runs each, ${a.nodes} nodes, timeouts ${a.minMs}-${a.maxMs} ms, heartbeat ${HEARTBEAT_MS} ms, latency ${DELAY_MS[0]}-${DELAY_MS[1]} ms (simulated ms)`,
);
for (const [label, preVote, checkQuorum] of [
  ['PreVote + CheckQuorum (default)', true, true],
  ['plain Raft (paper, Figure 16)', false, false],
] as const) {
  const times: number[] = [];
  for (let seed = 1; seed <= a.runs; seed++) times.push(oneRun(seed, a, preVote, checkQuorum));
  times.sort((x, y) => x - y);
  const mean = times.reduce((s, x) => s + x, 0) / times.length;
  console.log(
    `${label.padEnd(34)} mean ${mean.toFixed(1)}  p50 ${percentile(times, 50)}  p99 ${percentile(times, 99)}  max ${times[times.length - 1]}  (ms)`,
  );
}
