import { RaftMetrics, type NodeSnapshot } from '../../src/observability/metrics.js';
import { entries, msg, ready } from './fixtures.js';

const REQUIRED = [
  'raftkv_role',
  'raftkv_term',
  'raftkv_commit_index',
  'raftkv_applied_index',
  'raftkv_last_log_index',
  'raftkv_leader_changes_total',
  'raftkv_elections_started_total',
  'raftkv_elections_won_total',
  'raftkv_proposals_total',
  'raftkv_propose_duration_seconds',
  'raftkv_read_duration_seconds',
  'raftkv_storage_commit_duration_seconds',
  'raftkv_ready_batch_entries',
  'raftkv_append_messages_sent_total',
  'raftkv_append_rejections_total',
  'raftkv_follower_match_index',
  'raftkv_follower_lag_entries',
  'raftkv_alarm_active',
  'raftkv_snapshots_total',
  'raftkv_snapshot_sent_bytes_total',
  'process_cpu_seconds_total',
  'process_resident_memory_bytes',
];

/** The value of one sample in the text exposition, e.g. value(text, 'raftkv_term'). */
function value(text: string, sample: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(sample + ' '));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
}

describe('RaftMetrics', () => {
  let snap: NodeSnapshot;
  let reads = 0;
  const make = () =>
    new RaftMetrics(() => {
      reads++;
      return snap;
    });
  beforeEach(() => {
    snap = {
      role: 'leader',
      term: 7,
      leaderId: 'n1',
      commit: 40,
      applied: 39,
      lastIndex: 42,
      followers: [
        { id: 'n2', match: 42 },
        { id: 'n3', match: 30 },
      ],
    };
    reads = 0;
  });

  test('exports every documented metric, with HELP and TYPE', async () => {
    const text = await make().exposition();
    for (const name of REQUIRED) expect(text).toContain(`# TYPE ${name} `);
    expect(text).toContain('# HELP raftkv_storage_commit_duration_seconds ');
  });

  test('levels are read from the node at scrape time, once per scrape', async () => {
    const m = make();
    expect(reads).toBe(0);
    const text = await m.exposition();
    expect(reads).toBe(1);
    expect(value(text, 'raftkv_role{role="leader"}')).toBe(1);
    expect(value(text, 'raftkv_role{role="follower"}')).toBe(0);
    expect(value(text, 'raftkv_term')).toBe(7);
    expect(value(text, 'raftkv_commit_index')).toBe(40);
    expect(value(text, 'raftkv_applied_index')).toBe(39);
    expect(value(text, 'raftkv_last_log_index')).toBe(42);
    expect(value(text, 'raftkv_has_leader')).toBe(1);
    expect(value(text, 'raftkv_follower_match_index{peer="n3"}')).toBe(30);
    expect(value(text, 'raftkv_follower_lag_entries{peer="n2"}')).toBe(0);
    expect(value(text, 'raftkv_follower_lag_entries{peer="n3"}')).toBe(12);
  });

  test('an alarm is 1 while raised and 0 otherwise (the NOSPACE alert watches it)', async () => {
    const m = make();
    let text = await m.exposition();
    expect(value(text, 'raftkv_alarm_active{alarm="NOSPACE"}')).toBe(0);
    snap = { ...snap, alarms: ['NOSPACE'] };
    await new Promise((r) => setTimeout(r, 150)); // past the per-scrape snapshot cache
    text = await m.exposition();
    expect(value(text, 'raftkv_alarm_active{alarm="NOSPACE"}')).toBe(1);
    expect(value(text, 'raftkv_alarm_active{alarm="CORRUPT"}')).toBe(0);
  });

  test('a node that stops leading stops reporting follower progress', async () => {
    const m = make();
    await m.exposition();
    snap = { ...snap, role: 'follower', leaderId: 'n2', followers: [] };
    await new Promise((r) => setTimeout(r, 120)); // past the per-scrape cache
    const text = await m.exposition();
    expect(text).not.toContain('raftkv_follower_lag_entries{');
    expect(value(text, 'raftkv_role{role="follower"}')).toBe(1);
  });

  test('counts from Ready batches, peer messages and client calls', async () => {
    const m = make();
    m.readyHandled(
      ready({ softState: { role: 'candidate', leaderId: '' }, events: [{ kind: 'became-candidate', term: 3 }], mustSync: true }),
      0.002,
    );
    m.readyHandled(
      ready({
        softState: { role: 'leader', leaderId: 'n1' },
        events: [{ kind: 'became-leader', term: 3 }],
        entries: entries(1, 5, 3),
        messages: [msg('append', 'n2'), msg('append', 'n3'), msg('append', 'n2'), msg('heartbeat', 'n3')],
        mustSync: true,
      }),
      0.004,
    );
    m.readyHandled(ready({ committedEntries: entries(1, 5, 3) }), 0.0005); // applied only: no fsync
    m.readyHandled(ready(), null);
    m.readyHandled(ready({ softState: { role: 'follower', leaderId: 'n2' } }), null);
    m.readyHandled(ready({ softState: { role: 'follower', leaderId: 'n2' } }), null); // same leader: no change
    m.messageReceived(msg('append-response', 'n1', { from: 'n3', reject: true }));
    m.messageReceived(msg('append-response', 'n1', { from: 'n3' }));
    m.proposeDone('ok', 0.003);
    m.proposeDone('failed', 1.5);
    m.readDone('stale', 0.0001);
    m.readDone('linearizable', 0.002);
    m.readDone('linearizable', 0.004);
    const text = await m.exposition();
    expect(value(text, 'raftkv_elections_started_total')).toBe(1);
    expect(value(text, 'raftkv_elections_won_total')).toBe(1);
    expect(value(text, 'raftkv_leader_changes_total')).toBe(2);
    expect(value(text, 'raftkv_append_messages_sent_total{peer="n2"}')).toBe(2);
    expect(value(text, 'raftkv_append_messages_sent_total{peer="n3"}')).toBe(1);
    expect(value(text, 'raftkv_append_rejections_total{peer="n3"}')).toBe(1);
    expect(value(text, 'raftkv_storage_commit_duration_seconds_count{fsync="true"}')).toBe(2);
    expect(value(text, 'raftkv_storage_commit_duration_seconds_sum{fsync="true"}')).toBeCloseTo(0.006);
    expect(value(text, 'raftkv_storage_commit_duration_seconds_count{fsync="false"}')).toBe(1);
    expect(value(text, 'raftkv_ready_batch_entries_count')).toBe(1);
    expect(value(text, 'raftkv_ready_batch_entries_sum')).toBe(5);
    expect(value(text, 'raftkv_proposals_total{result="ok"}')).toBe(1);
    expect(value(text, 'raftkv_proposals_total{result="failed"}')).toBe(1);
    expect(value(text, 'raftkv_propose_duration_seconds_count')).toBe(2);
    expect(value(text, 'raftkv_propose_duration_seconds_bucket{le="0.005"}')).toBe(1);
    expect(value(text, 'raftkv_read_duration_seconds_count{consistency="linearizable"}')).toBe(2);
    expect(value(text, 'raftkv_read_duration_seconds_count{consistency="stale"}')).toBe(1);
    expect(value(text, 'raftkv_snapshots_total{direction="sent"}')).toBe(0);
  });

  test('a snapshot counts as sent when its transfer completes, not when the core asks for it', async () => {
    const m = make();
    m.readyHandled(ready({ messages: [msg('snapshot', 'n2')] }), null);
    expect(value(await m.exposition(), 'raftkv_snapshots_total{direction="sent"}')).toBe(0);
    m.snapshotSent(17_088_512);
    const text = await m.exposition();
    expect(value(text, 'raftkv_snapshots_total{direction="sent"}')).toBe(1);
    expect(value(text, 'raftkv_snapshot_sent_bytes_total')).toBe(17_088_512);
  });

  test('every node has its own registry', async () => {
    const a = make();
    const b = make();
    a.proposeDone('ok', 0.001);
    expect(value(await a.exposition(), 'raftkv_proposals_total{result="ok"}')).toBe(1);
    expect(value(await b.exposition(), 'raftkv_proposals_total{result="ok"}')).toBe(0);
  });
});
