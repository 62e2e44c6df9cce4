// A node whose stdout disappears (the parent holding the pipe died) keeps serving, quietly: it once
// spun on EPIPE, failing ~150 writes a second and growing without bound.
import { freePort, sleep, waitFor } from '@raftkv/testkit';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAIN } from './harness.js';

const writeSyscalls = (pid: number): number => Number(/syscw: (\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))![1]);

test('a node keeps running, without a write loop, after its stdout pipe closes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'raftkv-epipe-'));
  const addr = `127.0.0.1:${await freePort()}`;
  const absent = `127.0.0.1:${await freePort()}`; // a peer that never answers: the node keeps campaigning, and logging
  const child = spawn(
    process.execPath,
    [MAIN, '--id', 'n1', '--listen', addr, '--peers', `n1=${addr},n2=${absent}`, '--data-dir', dir, '--log-level', 'debug'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  try {
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    await waitFor('the node to campaign', () => (out.includes('became-pre-candidate') ? true : undefined));
    child.stdout.destroy();
    child.stderr.destroy();
    await sleep(1000); // the first failed writes happen here
    const before = writeSyscalls(child.pid!);
    await sleep(1000);
    const perSecond = writeSyscalls(child.pid!) - before;
    expect(child.exitCode).toBeNull();
    expect(perSecond).toBeLessThan(50);
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
