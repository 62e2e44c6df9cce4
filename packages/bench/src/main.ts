#!/usr/bin/env node
// scripts/bench: raftkv and etcd side by side. Tables (or --json) on stdout, progress on stderr.
import { writeFileSync } from 'node:fs';
import { parseOptions, USAGE, UsageError } from './args.js';
import { runBench } from './bench.js';
import { formatProfileSummary } from './profile.js';
import { ProgressBar } from './progress.js';
import { formatTables, renderSvg } from './report.js';

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
  const report = await runBench(opts, { progress, command: ['scripts/bench', ...argv].join(' ') });

  if (opts.svgPath !== undefined) {
    writeFileSync(opts.svgPath, renderSvg(report));
    progress.say(`bench: plot written to ${opts.svgPath}`);
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    const m = report.machine;
    process.stdout.write(
      `\n${report.date}, ${m.cpus} x ${m.cpuModel}, ${m.memGB} GB, Linux ${m.kernel}, Node ${m.node}, ` +
        `load average ${report.loadAverage.start.toFixed(1)} at start, ${report.loadAverage.end.toFixed(1)} at end\n` +
        `${report.command}\n` +
        `versions: ${Object.entries(report.versions).map(([s, v]) => `${s} ${v}`).join(', ')}\n` +
        `${opts.valueBytes} B values, ${report.settings.keys} keys, ${opts.countPerRun ?? `${opts.durationMs / 1000} s`} per run ` +
        `after ${opts.warmupMs / 1000} s warm-up, ${opts.inflightPerChannel} in flight per channel, to ${opts.to}, ${opts.client} client\n\n` +
        formatTables(report, opts.workloads),
    );
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
