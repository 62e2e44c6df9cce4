// A script's run as text: each step's command, exit status, and normalised standard output and error.
import { etcdctl, normalise } from './etcdctl.js';
import type { Step } from './etcdctl-script.js';
import type { Target } from './target.js';

export interface StepRun {
  readonly command: string;
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function describeStep(s: Step): string {
  const quoted = s.args.map((a) => (/^[\w=./-]+$/.test(a) ? a : `'${a}'`)).join(' ');
  if (s.stdin === undefined) return `etcdctl ${quoted}`;
  if (s.stdin.length > 1000) return `etcdctl ${quoted} < (${s.stdin.length} bytes)`;
  return `etcdctl ${quoted} <<EOF\n${s.stdin}EOF`;
}

/** Runs every step in order against `t`, each on its member (Step.member). */
export async function runScript(t: Target, script: readonly Step[]): Promise<StepRun[]> {
  const runs: StepRun[] = [];
  for (const [i, s] of script.entries()) {
    const endpoints = s.member === 'all' ? t.endpoints : [t.endpoints[(s.member ?? i) % t.endpoints.length]!];
    const r = await etcdctl(endpoints, s.args, s.stdin);
    runs.push({ command: describeStep(s), status: r.status, stdout: normalise(r.stdout), stderr: normalise(r.stderr) });
  }
  return runs;
}

export function formatRun(r: StepRun): string {
  return (
    `$ ${r.command}\n[exit ${r.status}]\n${r.stdout}${r.stdout.endsWith('\n') || r.stdout === '' ? '' : '\n'}` +
    (r.stderr === '' ? '' : `[stderr]\n${r.stderr}${r.stderr.endsWith('\n') ? '' : '\n'}`)
  );
}

export function formatTranscript(runs: readonly StepRun[]): string {
  return runs.map(formatRun).join('\n');
}

/** Every step whose outcome differs, as "command / etcd / raftkv" text. */
export function differences(expected: readonly StepRun[], actual: readonly StepRun[]): string[] {
  return expected.flatMap((e, i) => {
    const a = actual[i]!;
    if (e.status === a.status && e.stdout === a.stdout && e.stderr === a.stderr) return [];
    return [`step ${i}: ${e.command}\n--- etcd:\n${formatRun(e)}--- raftkv:\n${formatRun(a)}`];
  });
}
