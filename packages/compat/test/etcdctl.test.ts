// Differential proof that Debian's etcdctl 3.4 works against raftkv unchanged: one script of etcdctl
// commands (every KV command and flag, the output formats, the error cases) runs against a fresh etcd
// and a fresh 3-node raftkv; every step's exit status, standard output and standard error must be
// identical after normalise() (response headers' cluster_id, member_id and raft_term; the client's
// warning timestamps and target). Revisions are not normalised: they must match exactly.
// etcd's own run must also equal the transcript recorded from etcd 3.4.23 in etcdctl-transcript.txt
// (RAFTKV_COMPAT_RECORD=1 rewrites it), so the reference itself is checked, readable and reviewed.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { provisionEtcd, startEtcd } from './etcd.js';
import { SCRIPT } from './etcdctl-script.js';
import { startRaftkv } from './raftkv.js';
import type { Target } from './target.js';
import { differences, formatTranscript, runScript, type StepRun } from './transcript.js';

const RECORDED = fileURLToPath(new URL('../test/etcdctl-transcript.txt', import.meta.url));
const why = provisionEtcd();
const maybe = why ? test.skip : test;

async function runOn(start: () => Promise<Target>): Promise<StepRun[]> {
  const t = await start();
  try {
    return await runScript(t, SCRIPT);
  } finally {
    await t.stop();
  }
}

describe('etcdctl 3.4 against etcd and raftkv', () => {
  let etcd: StepRun[] | undefined;

  maybe('etcd runs the script with the recorded outputs', async () => {
    etcd = await runOn(startEtcd);
    const text = formatTranscript(etcd);
    if (process.env['RAFTKV_COMPAT_RECORD'] === '1') writeFileSync(RECORDED, text);
    expect(etcd.map((r, i) => [i, r.command, r.status !== 0])).toEqual(SCRIPT.map((s, i) => [i, etcd![i]!.command, s.fails === true]));
    expect(text).toBe(readFileSync(RECORDED, 'utf8'));
  });

  maybe("a 3-node raftkv gives etcd's output for every step, revisions included", async () => {
    if (!etcd) throw new Error("etcd's run failed: no reference to compare with");
    const raftkv = await runOn(() => startRaftkv(3));
    expect(differences(etcd, raftkv)).toEqual([]);
  });
});
