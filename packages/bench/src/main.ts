#!/usr/bin/env node
// scripts/bench: raftkv and etcd side by side. Tables (or --json) on stdout, progress on stderr.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseOptions, parseWorkload, USAGE, UsageError } from './args.js';
import { runBench } from './bench.js';
import { failoverBench } from './failover.js';
import { formatProfileSummary } from './profile.js';
import { ProgressBar } from './progress.js';
import { formatTables, renderSvg, type BenchReport } from './report.js';
import { formatSummary } from './summary.js';

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let opts;
  try {
    opts = parseOptions(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`bench: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const progress = new ProgressBar(opts.progress);
  if (opts.failover !== undefined) {
    process.stdout.write(await failoverBench(opts, opts.failover, (line) => progress.say(line)));
    return 0;
  }
  const report: BenchReport =
    opts.fromJson !== undefined
      ? (JSON.parse(readFileSync(opts.fromJson, 'utf8')) as BenchReport)
      : await runBench(opts, { progress, command: ['scripts/bench', ...argv].join(' ') });
  const workloads = opts.fromJson !== undefined ? [...new Set(report.runs.map((r) => r.workload))].map(parseWorkload) : opts.workloads;

  if (opts.svgPath !== undefined) {
    writeFileSync(opts.svgPath, renderSvg(report));
    progress.say(`bench: plot written to ${opts.svgPath}`);
  }
  if (opts.json && opts.fromJson === undefined) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    const m = report.machine;
    const st = report.settings;
    process.stdout.write(
      `\n${report.date}, ${m.cpus} x ${m.cpuModel}, ${m.memGB} GB, Linux ${m.kernel}, Node ${m.node}, ` +
        `load average ${report.loadAverage.start.toFixed(1)} at start, ${report.loadAverage.end.toFixed(1)} at end\n` +
        `${report.command}\n` +
        `versions: ${Object.entries(report.versions)
          .map(([s, v]) => `${s} ${v}`)
          .join(', ')}\n` +
        `${st.valueBytes} B values, ${st.keys} keys, ${st.countPerRun ?? `${st.durationMs / 1000} s`} per run ` +
        `after ${st.warmupMs / 1000} s warm-up, ${st.inflightPerChannel} in flight per channel, to ${st.to}, ${st.client} client, ` +
        `raftkv through ${st.api === 'etcd' ? "etcd's KV API" : 'raftkv.v1'}, ${st.rounds ?? 1} round(s)\n\n` +
        formatTables(report, workloads),
    );
    const summary = formatSummary(report, workloads);
    if (summary !== '') process.stdout.write(`\n${summary}`);
    if (report.profile) process.stdout.write(`\n${formatProfileSummary(report.profile, 'raftkv leader CPU profile')}\n`);
  }
  const failed = report.runs.filter((r) => r.ops === 0);
  return failed.length > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
