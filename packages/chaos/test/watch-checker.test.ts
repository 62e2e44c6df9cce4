// The watch checker on synthetic streams: watchers that saw exactly their range's writes pass; a
// dropped, duplicated, reordered, foreign, invented or split event fails, and so does a reference
// that skips a revision, disagrees between nodes, or lost an acknowledged write.
import { checkWatchers, type WatchEvent, type WatcherLog, type WatchRange, type WatchReference } from '../src/checker/index.js';

const put = (revision: number, key: string, value: string): WatchEvent => ({ revision, key, type: 'put', value });
const del = (revision: number, key: string): WatchEvent => ({ revision, key, type: 'delete', value: '' });

// Revisions 2..7: a, b, a txn writing a and c at 5, delete b, c.
const history: WatchEvent[] = [
  put(2, 'a', '1'),
  put(3, 'b', '1'),
  put(4, 'a', '2'),
  put(5, 'a', '3'),
  put(5, 'c', '1'),
  del(6, 'b'),
  put(7, 'c', '2'),
];
const ref: WatchReference = {
  finalRevision: 7,
  finalKvs: [
    { key: 'a', value: '3', modRevision: 5 },
    { key: 'c', value: '2', modRevision: 7 },
  ],
  streams: [history, [...history]],
};
const ALL: WatchRange = { key: '\0', end: '\0' };

function watcher(range: WatchRange, responses: WatchEvent[][], startRevision = 2, id = 0): WatcherLog {
  return { id, range, startRevision, responses, reconnects: 0 };
}

/** The correct stream for a range, one response per revision. */
function correct(range: WatchRange, from = 2): WatchEvent[][] {
  const byRev = new Map<number, WatchEvent[]>();
  for (const e of history)
    if (e.revision >= from && (range.end === '' ? e.key === range.key : e.key >= range.key && (range.end === '\0' || e.key < range.end)))
      byRev.set(e.revision, [...(byRev.get(e.revision) ?? []), e]);
  return [...byRev.values()];
}

const kinds = (c: ReturnType<typeof checkWatchers>): string[] => [...new Set(c.violations.map((v) => v.kind))].sort();

test('exact streams pass: every key, one key, a span, a later start; events are counted', () => {
  const ws = [
    watcher(ALL, correct(ALL), 2, 0),
    watcher({ key: 'a', end: '' }, correct({ key: 'a', end: '' }), 2, 1),
    watcher({ key: 'b', end: 'd' }, correct({ key: 'b', end: 'd' }), 2, 2),
    watcher(ALL, correct(ALL, 5), 5, 3),
  ];
  const c = checkWatchers(ws, ref, [
    {
      revision: 5,
      writes: [
        { key: 'a', value: '3' },
        { key: 'c', value: '1' },
      ],
    },
  ]);
  expect(c.violations).toEqual([]);
  expect(c.verdict).toBe('ok');
  expect(c.eventsChecked).toBe(7 + 3 + 4 + 4);
  expect(c.referenceEvents).toBe(7);
});

test('events after the final revision (a lease expiring after the final Range) are outside the window', () => {
  const later = [...history, del(8, 'c')];
  const c = checkWatchers([watcher(ALL, [...correct(ALL), [del(8, 'c')]])], { ...ref, streams: [later, later] });
  expect(c.violations).toEqual([]);
  expect(c.eventsChecked).toBe(7);
});

test('a dropped event is a gap: missing', () => {
  const rs = correct(ALL).filter((r) => r[0]!.revision !== 4);
  const c = checkWatchers([watcher(ALL, rs)], ref);
  expect(c.verdict).toBe('violation');
  expect(kinds(c)).toEqual(['missing']);
  expect(c.violations[0]!.report).toContain('put "a"="2" @4');
});

test('a duplicated event (a resume from the last revision instead of last + 1) is caught', () => {
  const rs = correct(ALL);
  rs.splice(3, 0, rs[2]!);
  const c = checkWatchers([watcher(ALL, rs)], ref);
  expect(kinds(c)).toEqual(['duplicate', 'split-revision']);
});

test('out of order, outside the range, invented, and wrong values are caught', () => {
  const swapped = correct(ALL);
  [swapped[1], swapped[2]] = [swapped[2]!, swapped[1]!];
  expect(kinds(checkWatchers([watcher(ALL, swapped)], ref))).toEqual(['out-of-order']);

  const a = { key: 'a', end: '' };
  expect(kinds(checkWatchers([watcher(a, [...correct(a), [put(7, 'c', '2')]])], ref))).toEqual(['outside-range']);
  const invented = correct(ALL).map((r) => (r[0]!.revision === 7 ? [...r, put(7, 'z', 'x')] : r));
  expect(kinds(checkWatchers([watcher(ALL, invented)], ref))).toEqual(['phantom']);
  const wrong = correct(ALL).map((r) => r.map((e) => (e.revision === 3 ? put(3, 'b', 'other') : e)));
  expect(kinds(checkWatchers([watcher(ALL, wrong)], ref))).toEqual(['wrong-event']);
});

test("a revision's events split across responses is caught (a resume after the split would lose the rest)", () => {
  const rs = correct(ALL).flatMap((r) => r.map((e) => [e]));
  expect(kinds(checkWatchers([watcher(ALL, rs)], ref))).toEqual(['split-revision']);
});

test('a reference that skips a revision, differs between nodes, disagrees with the final Range or lost a write fails', () => {
  const skip = history.filter((e) => e.revision !== 3);
  expect(kinds(checkWatchers([], { ...ref, streams: [skip, skip] }))).toEqual(['reference']);
  expect(kinds(checkWatchers([], { ...ref, streams: [history, skip] }))).toEqual(['reference']);
  expect(kinds(checkWatchers([], { ...ref, finalKvs: [{ key: 'a', value: '3', modRevision: 5 }] }))).toEqual(['reference']);
  expect(kinds(checkWatchers([], { ...ref, finalRevision: 8 }))).toEqual(['reference']);
  const lost = checkWatchers([], ref, [{ revision: 4, writes: [{ key: 'a', value: '9' }] }]);
  expect(lost.violations.map((v) => v.report)).toEqual(['acknowledged write "a"="9" @4: reference has put "a"="2" @4']);
});
