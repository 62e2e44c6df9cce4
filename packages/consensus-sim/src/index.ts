// The deterministic simulator of @raftkv/consensus (etcd keeps its rafttest apart the same way):
// a discrete-event cluster of cores over a simulated network and disk, safety checkers run on every
// Ready, and swarm runs that draw a whole run's shape from one seed.
export { Cluster, type ClusterOptions, type Proposal } from './cluster.js';
export { SimNode, type CompactionPolicy, type NodeEnv, type RaftTuning } from './node.js';
export { SimNetwork, PERFECT_NETWORK, type NetworkOptions, type NetworkStats } from './network.js';
export { SimDisk, SYNC_DISK, type DiskOptions } from './disk.js';
export { SafetyChecker } from './checker.js';
export { SafetyViolation, violated, violationOf } from './violation.js';
export { Rng } from './rng.js';
export { runSeed, drawShape, type SeedOptions, type SeedResult, type SimShape } from './swarm.js';
export * from './commands.js';
