// Randomized simulation from the command line:
//   pnpm --filter @raftkv/consensus-sim sim --seeds N [--nodes 5] [--first-seed S] [--trace 80] [--membership-heavy]
// Runs seeds S..S+N-1 (--membership-heavy: a membership change per election timeout in every seed); the last line is "N seeds passed", or the first failing seed and the
// violated property (exit 1). A failing seed is rerun with tracing to show the events before it.
import { runSeed, type SeedOptions, type SeedResult } from '../src/swarm.js';

interface Args {
  seeds: number;
  firstSeed: number;
  nodes?: number;
  traceLines: number;
  membershipHeavy: boolean;
}

function usage(problem: string): never {
  console.error(`sim: ${problem}\nusage: sim --seeds N [--nodes 1..9] [--first-seed S] [--trace LINES] [--membership-heavy]`);
  process.exit(2);
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { seeds: 100, firstSeed: 1, traceLines: 60, membershipHeavy: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--') continue;
    const value = argv[i + 1];
    const int = (min: number, max = Number.MAX_SAFE_INTEGER): number => {
      const n = Number(value);
      if (value === undefined || !Number.isSafeInteger(n) || n < min || n > max)
        usage(`${flag} needs an integer in [${min}, ${max}], got ${value ?? 'nothing'}`);
      i++;
      return n;
    };
    if (flag === '--seeds') args.seeds = int(1);
    else if (flag === '--first-seed') args.firstSeed = int(0);
    else if (flag === '--nodes') args.nodes = int(1, 9);
    else if (flag === '--trace') args.traceLines = int(0);
    else if (flag === '--membership-heavy') args.membershipHeavy = true;
    else usage(`unknown flag ${flag}`);
  }
  return args;
}

function describe(r: SeedResult): string {
  const s = r.shape;
  return (
    `nodes=${s.nodes}+${s.spares} confChanges=${s.confChangesPerTimeout} timeouts=${s.electionTimeoutMinMs}-${s.electionTimeoutMaxMs}ms heartbeat=${s.heartbeatIntervalMs}ms ` +
    `preVote=${s.preVote} checkQuorum=${s.checkQuorum} delay=${s.delayMinMs}-${s.delayMaxMs}ms drop=${s.dropRate} dup=${s.dupRate} ` +
    `partitions=${s.partitionsPerTimeout} oneWay=${s.oneWayCutsPerTimeout} crashes=${s.crashesPerTimeout} torn=${s.tornCrashShare} ` +
    `transfers=${s.transfersPerTimeout} inflight=${s.maxInflightMessages} msgBytes=${s.maxMessageBytes} applyBytes=${s.maxCommittedBytesPerReady} ` +
    `compactEvery=${s.compactEvery} keepTail=${s.keepTail} proposals/s=${s.proposalsPerSecond} reads/s=${s.readsPerSecond} earlySend=${s.earlySend} ` +
    (s.asyncPersist
      ? `asyncPersist=0-${s.persistMaxMs}ms slow=${s.slowPersistChance}x10-${s.slowPersistMaxMs}ms keepOnCrash=${s.keepWriteOnCrash} slowDisk=${s.slowDiskNode >= 0 ? `n${s.slowDiskNode + 1}` : '-'}`
      : 'asyncPersist=false')
  );
}

const args = parseArgs(process.argv.slice(2));
const seedOptions: SeedOptions = { ...(args.nodes === undefined ? {} : { nodes: args.nodes }), membershipHeavy: args.membershipHeavy };
const started = process.hrtime.bigint();
let committed = 0;
let simulatedMs = 0;
let terms = 0;
let reads = 0;
const faults = { crashes: 0, partitions: 0, oneWayCuts: 0, disconnects: 0 };
const conf = { committed: 0, underFaults: 0 };
const relax = { earlySends: 0, inputsDuringWrite: 0, crashKeptWrite: 0, crashLostWrite: 0 };
let asyncSeeds = 0;
for (let seed = args.firstSeed; seed < args.firstSeed + args.seeds; seed++) {
  const r = runSeed(seed, seedOptions);
  committed += r.committed;
  simulatedMs += r.simulatedMs;
  terms += r.terms;
  reads += r.readsReleased;
  faults.crashes += r.faults.crashes;
  faults.partitions += r.faults.partitions;
  faults.oneWayCuts += r.faults.oneWayCuts;
  faults.disconnects += r.faults.disconnects;
  conf.committed += r.confChanges.committed;
  conf.underFaults += r.confChanges.underFaults;
  for (const k of Object.keys(relax) as (keyof typeof relax)[]) relax[k] += r.relaxations[k];
  if (r.shape.asyncPersist) asyncSeeds++;
  if (!r.ok) {
    const traced = runSeed(seed, { ...seedOptions, traceLines: args.traceLines });
    console.log(`shape: ${describe(r)}`);
    if (traced.trace.length > 0) console.log(`last ${traced.trace.length} events:\n${traced.trace.join('\n')}`);
    console.log(`seed ${seed} failed at ${r.simulatedMs} ms: ${r.violation!.property}: ${r.violation!.detail}`);
    process.exit(1);
  }
}
const wallS = Number(process.hrtime.bigint() - started) / 1e9;
console.log(
  `simulated ${(simulatedMs / 1000).toFixed(0)} s in ${wallS.toFixed(1)} s: committed=${committed} terms=${terms} reads=${reads} ` +
    `crashes=${faults.crashes} partitions=${faults.partitions} oneWayCuts=${faults.oneWayCuts} disconnects=${faults.disconnects} ` +
    `confChanges=${conf.committed} confChangesUnderFaults=${conf.underFaults}`,
);
console.log(
  `relaxations: asyncSeeds=${asyncSeeds} earlySends=${relax.earlySends} inputsDuringWrite=${relax.inputsDuringWrite} ` +
    `crashKeptWrite=${relax.crashKeptWrite} crashLostWrite=${relax.crashLostWrite}`,
);
console.log(`${args.seeds} seeds passed`);
