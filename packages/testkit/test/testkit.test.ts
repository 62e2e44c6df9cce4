import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { killTracked, removeDir, spawnTracked, tempDir } from '../src/cleanup.js';
import { localNodes, nodeArgs, peersFlag } from '../src/node-args.js';
import { freePort, freePortExcept, freePorts } from '../src/ports.js';
import { sleep, waitFor, WaitTimeoutError } from '../src/wait.js';

describe('ports', () => {
  test('freePort is a port nothing listens on: a server can take it', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const s = createServer();
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', resolve);
    });
    await new Promise<void>((r) => s.close(() => r()));
  });

  test('freePorts are distinct; freePortExcept avoids the ones taken', async () => {
    const ports = await freePorts(5);
    expect(new Set(ports).size).toBe(5);
    expect(ports).not.toContain(await freePortExcept(ports));
  });
});

describe('waitFor', () => {
  test('resolves with the first value that is not undefined; throws count as not yet', async () => {
    let n = 0;
    const v = await waitFor(
      'the third try',
      () => {
        n++;
        if (n === 1) throw new Error('not yet');
        return n === 3 ? 'done' : undefined;
      },
      5_000,
      1,
    );
    expect(v).toBe('done');
    expect(n).toBe(3);
  });

  test('times out naming what it waited for and the last error (as the cause)', async () => {
    const t0 = Date.now();
    const failing = waitFor('a miracle', () => Promise.reject(new Error('still no')), 200, 20);
    await expect(failing).rejects.toThrow(WaitTimeoutError);
    await expect(failing).rejects.toThrow('timed out after 200 ms waiting for a miracle: Error: still no');
    await expect(failing).rejects.toMatchObject({ cause: new Error('still no') });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(200);
    await expect(waitFor('nothing', () => undefined, 50, 10)).rejects.toThrow(/^timed out after 50 ms waiting for nothing$/);
  });
});

describe('cleanup', () => {
  test('temp dirs are made and removed', () => {
    const d = tempDir('raftkv-testkit-');
    expect(existsSync(d)).toBe(true);
    removeDir(d);
    expect(existsSync(d)).toBe(false);
  });

  test('killTracked kills tracked children that still run, paused ones too', async () => {
    const child = spawnTracked(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, sig) => r(sig)));
    await sleep(100);
    child.kill('SIGSTOP');
    killTracked();
    expect(await exited).toBe('SIGKILL');
  });
});

describe('node command lines', () => {
  test('a local cluster: n1..nN on distinct loopback ports, --peers or --join', async () => {
    const nodes = await localNodes(3, '/tmp/x');
    expect(nodes.map((n) => n.id)).toEqual(['n1', 'n2', 'n3']);
    expect(nodes[1]!.dataDir).toBe(join('/tmp/x', 'n2'));
    expect(new Set(nodes.map((n) => n.address)).size).toBe(3);
    const peers = peersFlag(nodes);
    expect(peers).toBe(nodes.map((n) => `${n.id}=${n.address}`).join(','));
    const n1 = nodes[0]!;
    const timing = { electionTimeoutMinMs: 1, electionTimeoutMaxMs: 2, heartbeatMs: 3 };
    expect(nodeArgs({ id: 'n1', listen: n1.address, dataDir: 'd', membership: { peers }, timing })).toEqual([
      '--id',
      'n1',
      '--listen',
      n1.address,
      '--peers',
      peers,
      '--data-dir',
      'd',
      '--election-timeout-min-ms',
      '1',
      '--election-timeout-max-ms',
      '2',
      '--heartbeat-ms',
      '3',
    ]);
    const joining = nodeArgs({
      id: 'n4',
      listen: 'h:4',
      dataDir: 'd',
      membership: { join: ['h:1', 'h:2'] },
      extra: ['--log-level', 'warn'],
    });
    expect(joining).toEqual([
      '--id',
      'n4',
      '--listen',
      'h:4',
      '--join',
      'h:1,h:2',
      '--advertise',
      'h:4',
      '--data-dir',
      'd',
      '--log-level',
      'warn',
    ]);
  });
});
