// Programmatic entry points of the benchmark (used by its tests; scripts/bench runs main.js).
export * from './args.js';
export { runBench, type BenchIo } from './bench.js';
export { Histogram } from './histogram.js';
export { runLoad, type LoadResult, type LoadSpec } from './generator.js';
export { ProgressBar } from './progress.js';
export { formatTables, renderSvg, type BenchReport, type RunRecord } from './report.js';
export { formatSummary, summarizeRounds, median, ratio, type LevelSummary, type RoundRatios } from './summary.js';
export { summarizeProfile, summarizeProfileFile, formatProfileSummary, type ProfileSummary } from './profile.js';
export { startRaftkvCluster } from './raftkv-cluster.js';
export { startEtcdCluster, ensureEtcd } from './etcd-cluster.js';
