// What a client or operator sees from outside: reflection (via buf curl, grpcurl's stand-in), raftctl,
// hostile peers that must not hurt a node, and configuration errors.
import { tempDir, waitFor } from '@raftkv/testkit';
import { credentials, makeGenericClientConstructor, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { MessageType, RaftClient, type MessageBatch, type Message } from '@raftkv/proto';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { MAIN, SERVER_PKG, TestCluster } from './harness.js';

const BUF = join(SERVER_PKG, 'node_modules', '.bin', 'buf');
const RAFTCTL = join(SERVER_PKG, 'dist', 'cli', 'raftctl.js');

function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
const bufCurl = (args: string[]) => run(BUF, ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', ...args]);

describe('services seen from outside', () => {
  let c: TestCluster;
  let url: string;

  beforeAll(async () => {
    c = await TestCluster.start();
    await c.waitForLeader();
    url = `http://${c.nodes[0]!.address}`;
  });
  afterAll(async () => {
    await c?.stop();
  });

  test('reflection lists and resolves every service, health included (buf curl)', async () => {
    const services = await bufCurl(['--list-services', url]);
    expect(services.code).toBe(0);
    expect(
      services.stdout
        .split('\n')
        .filter((l) => l !== '')
        .sort(),
    ).toEqual([
      'etcdserverpb.Auth',
      'etcdserverpb.Cluster',
      'etcdserverpb.KV',
      'etcdserverpb.Lease',
      'etcdserverpb.Maintenance',
      'etcdserverpb.Watch',
      'grpc.health.v1.Health',
      'grpc.reflection.v1.ServerReflection',
      'grpc.reflection.v1alpha.ServerReflection',
      'raftkv.v1.Admin',
      'raftkv.v1.KV',
      'raftkv.v1.Raft',
    ]);
    const methods = await bufCurl(['--list-methods', url]);
    expect(methods.code).toBe(0);
    for (const m of [
      'grpc.health.v1.Health/Check',
      'raftkv.v1.KV/Propose',
      'raftkv.v1.KV/Read',
      'raftkv.v1.Admin/Status',
      'raftkv.v1.Admin/Digest',
      'raftkv.v1.Raft/Send',
    ]) {
      expect(methods.stdout).toContain(m);
    }
    // Calls that need the schema from reflection, as grpcurl would make them.
    const health = await bufCurl(['-d', '{"service":"raftkv.v1.KV"}', `${url}/grpc.health.v1.Health/Check`]);
    expect(health.stderr).toBe('');
    expect(JSON.parse(health.stdout)).toEqual({ status: 'SERVING' });
    const put = await bufCurl(['-d', '{"put":{"key":"a","value":"aGk="}}', `${url}/raftkv.v1.KV/Propose`]);
    expect(put.code).toBe(0);
    expect(JSON.parse(put.stdout)).toMatchObject({ succeeded: true });
    const read = await bufCurl(['-d', '{"key":"a"}', `${url}/raftkv.v1.KV/Read`]);
    expect(JSON.parse(read.stdout)).toMatchObject({ found: true, value: 'aGk=' });
    const st = await bufCurl(['-d', '{}', `${url}/raftkv.v1.Admin/Status`]);
    expect(JSON.parse(st.stdout)).toMatchObject({ id: 'n1' });
    const etcdStatus = await bufCurl(['-d', '{}', `${url}/etcdserverpb.Maintenance/Status`]);
    expect(JSON.parse(etcdStatus.stdout)).toMatchObject({ version: '0.3.0' });
  });

  test("reflection describes etcd's KV across its imports (mvccpb, authpb): buf curl lists and calls it", async () => {
    const methods = await bufCurl(['--list-methods', url]);
    expect(methods.stderr).toBe('');
    expect(methods.stdout).toContain('etcdserverpb.Auth/Authenticate');
    expect(methods.stdout.split('\n').filter((l) => l.startsWith('etcdserverpb.KV/'))).toEqual([
      'etcdserverpb.KV/Compact',
      'etcdserverpb.KV/DeleteRange',
      'etcdserverpb.KV/Put',
      'etcdserverpb.KV/Range',
      'etcdserverpb.KV/Txn',
    ]);
    expect(methods.stdout).toContain('etcdserverpb.Watch/Watch');
    expect(methods.stdout).toContain('etcdserverpb.Lease/LeaseKeepAlive');
    expect(methods.stdout).toContain('etcdserverpb.Maintenance/Snapshot');
    expect(methods.stdout).toContain('etcdserverpb.Cluster/MemberList');
    const put = await bufCurl(['-d', '{"key":"Zm9v","value":"YmFy"}', `${url}/etcdserverpb.KV/Put`]);
    expect(put.stderr).toBe('');
    const putRevision = Number((JSON.parse(put.stdout) as { header: { revision: string } }).header.revision);
    const range = await bufCurl(['-d', '{"key":"Zm9v"}', `${url}/etcdserverpb.KV/Range`]);
    expect(range.stderr).toBe('');
    // buf renders the answer from the reflected schema: mvccpb.KeyValue's fields by name, 64-bit ints as strings.
    expect(JSON.parse(range.stdout)).toMatchObject({
      header: { revision: String(putRevision) },
      kvs: [{ key: 'Zm9v', value: 'YmFy', modRevision: String(putRevision), version: '1' }],
      count: '1',
    });
  });

  test('raftctl put/get/cas/delete/status, readable and --json', async () => {
    const eps = ['--endpoints', c.nodes.map((n) => n.address).join(',')];
    const ctl = (...args: string[]) => run(process.execPath, [RAFTCTL, ...eps, ...args]);
    expect((await ctl('v1', 'put', 'color', 'blue')).stdout).toMatch(/^OK \(index \d+, term \d+\)/);
    expect((await ctl('v1', 'get', 'color')).stdout).toBe('blue\n');
    const stale = await ctl('v1', 'get', 'color', '--stale', '--json');
    expect(JSON.parse(stale.stdout)).toMatchObject({ found: true, value: Buffer.from('blue').toString('base64') });
    const lost = await ctl('cas', 'color', 'red', '--expect', 'green');
    expect(lost.code).toBe(1);
    expect(lost.stdout).toContain('not swapped: current value blue');
    expect((await ctl('cas', 'color', 'red', '--expect', 'blue')).code).toBe(0);
    expect((await ctl('delete', 'color')).stdout).toContain('was red');
    const missing = await ctl('v1', 'get', 'color');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('not found');
    const bad = await ctl('v1', 'put', '', 'x');
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain('INVALID_ARGUMENT: key must not be empty');
    const status = await ctl('status');
    expect(status.code).toBe(0);
    expect(status.stdout.split('\n')[0]).toMatch(/^ENDPOINT\s+ID\s+ROLE\s+TERM\s+LEADER/);
    expect(status.stdout.match(/ leader /g)).toHaveLength(1); // one node in role leader
    const js = JSON.parse((await ctl('status', '--json')).stdout) as { role: string }[];
    expect(js.filter((s) => s.role === 'ROLE_LEADER')).toHaveLength(1);
    expect((await ctl('frobnicate')).code).toBe(2);
  });

  test('raftctl takes --flag=value as well as --flag value, anywhere among the words', async () => {
    const ctl = (...args: string[]) => run(process.execPath, [RAFTCTL, `--endpoints=${c.nodes.map((n) => n.address).join(',')}`, ...args]);
    expect((await ctl('v1', 'put', 'shape', 'round', '--client-id=ctl-eq', '--sequence=1', '--timeout=10000')).stdout).toMatch(
      /^OK \(index \d+, term \d+\)/,
    );
    const got = await ctl('v1', 'get', '--json=true', 'shape', '--stale');
    expect(JSON.parse(got.stdout)).toMatchObject({ found: true, value: Buffer.from('round').toString('base64') });
    const cas = await ctl('cas', 'shape', 'square', '--expect=round');
    expect(cas.stdout).toContain('swapped');
    const bad = await ctl('--bogus=1', 'status');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^raftctl: --bogus: unknown flag$/m);
    const missing = await ctl('status', '--timeout');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^raftctl: --timeout: needs a value$/m);
  });

  test('hostile or malformed peer traffic is refused and never crashes a node', async () => {
    const target = c.nodes[1]!;
    const raft = new RaftClient(target.address, credentials.createInsecure());
    const send = (batches: MessageBatch[]) =>
      new Promise<ServiceError | null>((resolve) => {
        const s = raft.send((err) => resolve(err));
        for (const b of batches) s.write(b);
        s.end();
      });
    const msg = (m: Partial<Message>): Message => ({
      type: MessageType.MESSAGE_TYPE_HEARTBEAT,
      from: 'n1',
      to: target.id,
      term: 0,
      logTerm: 0,
      index: 0,
      entries: [],
      commit: 0,
      reject: false,
      rejectHint: 0,
      hintTerm: 0,
      context: 0,
      ...m,
    });
    const wrongCluster = await send([{ clusterId: 'someone-else', messages: [msg({})], senderVersion: '', protocolVersion: 0 }]);
    expect(wrongCluster?.code).toBe(grpcStatus.FAILED_PRECONDITION);
    const garbage = await send([
      {
        clusterId: 'raftkv',
        senderVersion: '',
        protocolVersion: 0,
        messages: [
          msg({ type: 99 as MessageType }),
          msg({ from: 'mallory' }),
          msg({ to: 'someone' }),
          msg({
            type: MessageType.MESSAGE_TYPE_APPEND,
            term: 1,
            index: 5,
            entries: [{ index: 9, term: 1, type: 0, data: Buffer.from('x') }],
          }),
          msg({
            type: MessageType.MESSAGE_TYPE_APPEND,
            term: 1,
            index: 0,
            entries: [{ index: 1, term: 7, type: 0, data: Buffer.from('x') }],
          }),
          msg({ type: MessageType.MESSAGE_TYPE_SNAPSHOT }),
          msg({ type: MessageType.MESSAGE_TYPE_VOTE, entries: [{ index: 1, term: 0, type: 0, data: Buffer.alloc(0) }] }),
        ],
      },
    ]);
    expect(garbage).toBeNull();
    // Bytes that are not a MessageBatch at all, and an index beyond 2^53.
    const Raw = makeGenericClientConstructor(
      {
        send: {
          path: '/raftkv.v1.Raft/Send',
          requestStream: true,
          responseStream: false,
          requestSerialize: (b: Buffer) => b,
          requestDeserialize: (b: Buffer) => b,
          responseSerialize: (b: Buffer) => b,
          responseDeserialize: (b: Buffer) => b,
        },
      },
      'raftkv.v1.Raft',
    );
    const raw = new Raw(target.address, credentials.createInsecure()) as unknown as {
      send(cb: (e: ServiceError | null) => void): { write(b: Buffer): void; end(): void };
      close(): void;
    };
    const rawErr = await new Promise<ServiceError | null>((resolve) => {
      const s = raw.send((e) => resolve(e));
      s.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]));
      s.end();
    });
    expect(rawErr).not.toBeNull();
    const huge = Buffer.concat([
      Buffer.from([0x0a, 0x06]),
      Buffer.from('raftkv'),
      Buffer.from([0x12, 0x0b, 0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
    ]);
    await new Promise<ServiceError | null>((resolve) => {
      const s = raw.send((e) => resolve(e));
      s.write(huge);
      s.end();
    });
    raw.close();
    raft.close();
    // Still alive, still serving, and the cluster still commits writes through it.
    expect(target.proc).not.toBeNull();
    await waitFor('a write through the probed node', () => c.put(target.id, 'after-hostile', 'ok'));
    expect(c.logs(target.id)).toMatch(/dropped a malformed peer message/);
    expect(c.logs(target.id)).toMatch(/refused a peer stream from another cluster/);
  });
});

describe('configuration errors', () => {
  const node = (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const env0 = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('RAFTKV_')));
    return spawnSync(process.execPath, [MAIN, ...args], { env: { ...env0, ...env }, encoding: 'utf8', timeout: 30_000 });
  };
  const dir = tempDir();
  test.each([
    [['--id', 'n1', '--data-dir', dir], /--peers: is required/],
    [['--id', 'n4', '--peers', 'n1=127.0.0.1:1', '--data-dir', dir], /--peers: does not include this node's id "n4"/],
    [['--id', 'n1', '--peers', 'n1=nowhere', '--data-dir', dir], /--peers: "nowhere" is not HOST:PORT/],
    [['--id', 'n1', '--peers', 'n1=127.0.0.1:1', '--data-dir', dir, '--heartbeat-ms', 'x'], /--heartbeat-ms: must be an integer/],
    [
      [
        '--id',
        'n1',
        '--peers',
        'n1=127.0.0.1:1',
        '--data-dir',
        dir,
        '--election-timeout-min-ms',
        '300',
        '--election-timeout-max-ms',
        '200',
      ],
      /--election-timeout-max-ms: must exceed/,
    ],
    [['--id', 'web', '--replicas', '3', '--peer-domain', 'p.svc', '--data-dir', dir], /--id: must be <name>-<ordinal>/],
    [['--bogus', '1'], /--bogus: unknown flag/],
  ])('%j exits 2 naming the flag', (args, message) => {
    const r = node(args);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  test('flags can come from RAFTKV_* environment variables', () => {
    const r = node([], { RAFTKV_ID: 'n1', RAFTKV_PEERS: 'n1=127.0.0.1:1', RAFTKV_DATA_DIR: dir, RAFTKV_HEARTBEAT_MS: 'zero' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--heartbeat-ms: must be an integer/);
  });
});
