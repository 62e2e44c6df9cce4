import type { Message } from '@raftkv/consensus';
import { MessageBatch, MessageType } from '@raftkv/proto';
import { messageFromWire, messageToWire, PeerMessageError, wireBytesBound } from '../src/peer/codec.js';
import { parseConfig } from '../src/cli/config.js';
import { ConfigError } from '../src/errors.js';

const peers = new Set(['n1', 'n2', 'n3']);
const base: Message = {
  type: 'append',
  from: 'n1',
  to: 'n2',
  term: 3,
  logTerm: 2,
  index: 10,
  entries: [],
  commit: 9,
  reject: false,
  rejectHint: 0,
  hintTerm: 0,
  context: 0,
};

describe('peer message codec', () => {
  test('round-trips every field', () => {
    const m: Message = {
      ...base,
      entries: [
        { index: 11, term: 2, type: 'normal', data: Buffer.from('a') },
        { index: 12, term: 3, type: 'conf-change', data: Buffer.from('b') },
      ],
    };
    const back = messageFromWire(messageToWire(m), 'n2', peers);
    expect({ ...back, entries: back.entries.map((e) => ({ ...e, data: Buffer.from(e.data).toString() })) }).toEqual({
      ...m,
      entries: [
        { index: 11, term: 2, type: 'normal', data: 'a' },
        { index: 12, term: 3, type: 'conf-change', data: 'b' },
      ],
    });
    const resp: Message = { ...base, type: 'append-response', from: 'n3', to: 'n1', reject: true, rejectHint: 4, hintTerm: 1 };
    expect(messageFromWire(messageToWire(resp), 'n1', peers)).toEqual(resp);
  });

  test.each([
    ['an unknown type', { type: 42 as MessageType }, /unknown message type/],
    ['another addressee', { to: 'n3' }, /addressed to "n3"/],
    ['an unknown sender', { from: 'mallory' }, /unknown node/],
    ['a sender claiming to be us', { from: 'n2' }, /unknown node/],
    ['a negative index', { index: -1 }, /bad index: -1/],
    ['a gap in entries', { entries: [{ index: 12, term: 3, type: 0, data: Buffer.alloc(0) }] }, /want 11/],
    ['an entry term above the message term', { entries: [{ index: 11, term: 4, type: 0, data: Buffer.alloc(0) }] }, /out of order/],
    ['an entry term below log_term', { entries: [{ index: 11, term: 1, type: 0, data: Buffer.alloc(0) }] }, /out of order/],
    [
      'entries on a vote',
      { type: MessageType.MESSAGE_TYPE_VOTE, entries: [{ index: 11, term: 3, type: 0, data: Buffer.alloc(0) }] },
      /entries on a vote/,
    ],
    ['a snapshot on the Send stream', { type: MessageType.MESSAGE_TYPE_SNAPSHOT }, /outside InstallSnapshot/],
  ])('refuses %s', (_n, patch, msg) => {
    const w = { ...messageToWire(base), ...patch };
    expect(() => messageFromWire(w, 'n2', peers)).toThrow(PeerMessageError);
    expect(() => messageFromWire(w, 'n2', peers)).toThrow(msg);
  });
});

describe('wireBytesBound (the transport sizes peer batches by it)', () => {
  const encoded = (m: Message): number =>
    MessageBatch.encode({ clusterId: '', messages: [messageToWire(m)], senderVersion: '', protocolVersion: 0 }).finish().length;
  const MAX = Number.MAX_SAFE_INTEGER;

  test('is at least the encoded size inside a batch, whatever the fields hold', () => {
    const entry = (i: number, bytes: number) => ({ index: MAX - i, term: MAX, type: 'conf-change' as const, data: Buffer.alloc(bytes, 1) });
    const cases: Message[] = [
      base,
      { ...base, term: MAX, logTerm: MAX, index: MAX, commit: MAX, reject: true, rejectHint: MAX, hintTerm: MAX, context: MAX },
      { ...base, from: 'ñödé-1', to: 'ñödé-2'.repeat(50) },
      { ...base, entries: Array.from({ length: 1000 }, (_, i) => entry(i, 0)) },
      { ...base, entries: [entry(0, 1 << 20), entry(1, 200_000)] },
      { ...base, type: 'snapshot', snapshot: { index: MAX, term: MAX, conf: { voters: ['n1', 'ñ2', 'n3'], learners: ['n4'] } } },
    ];
    for (const m of cases) expect(wireBytesBound(messageToWire(m))).toBeGreaterThanOrEqual(encoded(m));
  });

  test('stays close for entry-heavy messages (batches are not cut needlessly small)', () => {
    const m: Message = { ...base, entries: [{ index: 11, term: 2, type: 'normal', data: Buffer.alloc(1 << 20) }] };
    expect(wireBytesBound(messageToWire(m)) - encoded(m)).toBeLessThan(200);
  });
});

describe('snapshot messages (InstallSnapshot)', () => {
  const snap = {
    ...messageToWire(base),
    type: MessageType.MESSAGE_TYPE_SNAPSHOT,
    snapshot: { index: 20, term: 3, voters: ['n1', 'n2'], learners: ['n3'] },
  };
  test('round-trips the meta', () => {
    expect(messageFromWire(snap, 'n2', peers, true).snapshot).toEqual({
      index: 20,
      term: 3,
      conf: { voters: ['n1', 'n2'], learners: ['n3'] },
    });
    expect(() => messageFromWire(messageToWire(base), 'n2', peers, true)).toThrow(/where a snapshot was expected/);
  });
  test.each([
    ['a term above the message term', { index: 20, term: 4, voters: ['n1'], learners: [] }, /not valid in term 3/],
    ['index 0', { index: 0, term: 3, voters: ['n1'], learners: [] }, /without a snapshot/],
    ['no voters', { index: 20, term: 3, voters: [], learners: ['n3'] }, /membership is not valid/],
    ['an id twice', { index: 20, term: 3, voters: ['n1', 'n2'], learners: ['n2'] }, /membership is not valid/],
  ])('refuses %s', (_n, snapshot, msg) => {
    expect(() => messageFromWire({ ...snap, snapshot }, 'n2', peers, true)).toThrow(msg);
  });
});

describe('parseConfig', () => {
  test('peers mode with defaults', () => {
    const c = parseConfig(['--id', 'n2', '--peers', 'n1=127.0.0.1:7001,n2=127.0.0.1:7002', '--data-dir', '/d'], {});
    expect(c).toMatchObject({
      id: 'n2',
      listen: '127.0.0.1:7002',
      advertise: '127.0.0.1:7002',
      clusterId: 'raftkv',
      electionTimeoutMinMs: 150,
      electionTimeoutMaxMs: 300,
      heartbeatMs: 50,
      logLevel: 'info',
    });
    expect([...c.peers]).toEqual([
      ['n1', '127.0.0.1:7001'],
      ['n2', '127.0.0.1:7002'],
    ]);
  });

  test('StatefulSet mode derives peers from the pod name; env fills in, flags win', () => {
    const c = parseConfig(['--peer-port', '7100'], {
      RAFTKV_ID: 'raftkv-1',
      RAFTKV_REPLICAS: '3',
      RAFTKV_PEER_DOMAIN: 'raftkv-peer.ns.svc.cluster.local',
      RAFTKV_PEER_PORT: '7001',
      RAFTKV_DATA_DIR: '/var/lib/raftkv',
      RAFTKV_DIAL_OVERRIDES: 'raftkv-0.raftkv-peer.ns.svc.cluster.local:7100=127.0.0.1:9000',
      RAFTKV_INSECURE_PEERS: 'true',
    });
    expect([...c.peers.keys()]).toEqual(['raftkv-0', 'raftkv-1', 'raftkv-2']);
    expect(c.peers.get('raftkv-2')).toBe('raftkv-2.raftkv-peer.ns.svc.cluster.local:7100');
    expect(c.listen).toBe('0.0.0.0:7100');
    expect(c.dialOverrides.get('raftkv-0.raftkv-peer.ns.svc.cluster.local:7100')).toBe('127.0.0.1:9000');
  });

  test('--flag=value and --flag value alike', () => {
    const peers = 'n1=127.0.0.1:7001,n2=127.0.0.1:7002';
    const spaced = parseConfig(['--id', 'n2', '--peers', peers, '--data-dir', '/d', '--heartbeat-ms', '40'], {});
    const inline = parseConfig(['--id=n2', `--peers=${peers}`, '--data-dir=/d', '--heartbeat-ms=40'], {});
    expect(inline).toEqual(spaced);
    expect(inline.heartbeatMs).toBe(40);
    expect(() => parseConfig(['--id=n1', '--bogus=1'], {})).toThrow(new ConfigError('--bogus', 'unknown flag'));
    expect(() => parseConfig(['--id'], {})).toThrow(new ConfigError('--id', 'needs a value'));
    expect(() => parseConfig(['n1'], {})).toThrow(/^n1: unexpected argument/);
  });

  test('errors name the flag', () => {
    expect(() => parseConfig(['--id', 'n1', '--peers', 'n1=h:1,n1=h:2', '--data-dir', 'd'], {})).toThrow(
      new ConfigError('--peers', 'lists n1 twice'),
    );
    expect(() => parseConfig(['--id', 'n1', '--peers', 'n1=h:1', '--data-dir', 'd', '--log-level', 'loud'], {})).toThrow(/--log-level/);
    expect(() => parseConfig(['--id', 'n1', '--peers', 'n1=h:1', '--replicas', '3', '--data-dir', 'd'], {})).toThrow(
      /--replicas: cannot be combined/,
    );
  });

  const base = ['--id', 'n1', '--peers', 'n1=127.0.0.1:1', '--data-dir', 'd'];
  test('--snapshot-bytes: a byte count with an optional binary suffix, default 64 MiB; env too', () => {
    expect(parseConfig(base, {}).snapshotBytes).toBe(64 * 1024 * 1024);
    expect(parseConfig([...base, '--snapshot-bytes', '4096'], {}).snapshotBytes).toBe(4096);
    expect(parseConfig([...base, '--snapshot-bytes=512Ki'], {}).snapshotBytes).toBe(512 * 1024);
    expect(parseConfig(base, { RAFTKV_SNAPSHOT_BYTES: '2Gi' }).snapshotBytes).toBe(2 * 1024 ** 3);
    expect(parseConfig([...base, '--snapshot-bytes', '3Mi'], { RAFTKV_SNAPSHOT_BYTES: '2Gi' }).snapshotBytes).toBe(3 * 1024 * 1024);
  });

  test.each([
    [['--snapshot-bytes', '0'], '--snapshot-bytes: must be a byte count >= 1 (e.g. 67108864 or 64Mi), got "0"'],
    [['--snapshot-bytes', '64MB'], '--snapshot-bytes: must be a byte count >= 1 (e.g. 67108864 or 64Mi), got "64MB"'],
    [['--snapshot-bytes', '-1'], '--snapshot-bytes: must be a byte count >= 1 (e.g. 67108864 or 64Mi), got "-1"'],
    [['--snapshot-bytes', '99999999999Gi'], '--snapshot-bytes: must be a byte count >= 1 (e.g. 67108864 or 64Mi), got "99999999999Gi"'],
    [['--snapshot-entries', '0'], '--snapshot-entries: must be an integer >= 1, got "0"'],
    [['--snapshot-catchup-entries', 'x'], '--snapshot-catchup-entries: must be an integer >= 0, got "x"'],
    [['--snapshot-chunk-delay-ms', '20000'], '--snapshot-chunk-delay-ms: must be at most 10000, got 20000'],
  ])('snapshot flags %j: one line naming the flag', (flags, message) => {
    expect(() => parseConfig([...base, ...flags], {})).toThrow(message);
    expect(message).not.toContain('\n');
  });

  test('--max-watchers-per-stream: default 10000, an integer >= 1; env too', () => {
    expect(parseConfig(base, {}).maxWatchersPerStream).toBe(10_000);
    expect(parseConfig([...base, '--max-watchers-per-stream', '3'], {}).maxWatchersPerStream).toBe(3);
    expect(parseConfig(base, { RAFTKV_MAX_WATCHERS_PER_STREAM: '7' }).maxWatchersPerStream).toBe(7);
    for (const bad of ['0', '-1', 'x', '1.5'])
      expect(() => parseConfig([...base, '--max-watchers-per-stream', bad], {})).toThrow(
        `--max-watchers-per-stream: must be an integer >= 1, got ${JSON.stringify(bad)}`,
      );
  });
});
