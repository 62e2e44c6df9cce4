// The lock checker on synthetic histories: log writes by the holder of the moment pass; a write from
// a holder whose key was gone, from a live key that was not the lowest, a token going back, a lost
// acknowledged write and an applied refused one are each caught.
import { checkLock, entryOf, type LockWrite, type WatchEvent } from '../src/checker/index.js';

const put = (revision: number, key: string, value = ''): WatchEvent => ({ revision, key, type: 'put', value });
const del = (revision: number, key: string): WatchEvent => ({ revision, key, type: 'delete', value: '' });
const log = (revision: number, token: number, client: number, seq: number): WatchEvent =>
  put(revision, 'locklog', entryOf(token, client, seq));
const ok = (token: number, client: number, seq: number, revision: number): LockWrite => ({
  client,
  lockKey: `lock/${token}`,
  token,
  entry: entryOf(token, client, seq),
  outcome: 'ok',
  revision,
  zombie: false,
});

// Client 0 holds lock/a (created at 2), client 1 waits with lock/b (3) and takes over after 2's delete.
const good: WatchEvent[] = [
  put(2, 'lock/a'),
  put(3, 'lock/b'),
  log(4, 2, 0, 0),
  log(5, 2, 0, 1),
  del(6, 'lock/a'),
  log(7, 3, 1, 0),
  del(8, 'lock/b'),
];
const check = (events: WatchEvent[], writes: LockWrite[] = []) => checkLock(events, writes, 'lock/', 'locklog');
const kinds = (events: WatchEvent[], writes: LockWrite[] = []) => [...new Set(check(events, writes).violations.map((v) => v.kind))].sort();

test('writes by the holder of the moment pass, with their counts', () => {
  const c = check(good, [ok(2, 0, 0, 4), ok(2, 0, 1, 5), ok(3, 1, 0, 7)]);
  expect(c.violations).toEqual([]);
  expect(c).toMatchObject({ verdict: 'ok', logWrites: 3, holdsThatWrote: 2, acknowledged: 3 });
});

test("a write after the holder's key was gone (a frozen holder, unfenced) is caught", () => {
  const c = check([...good.slice(0, 6), log(7, 2, 0, 2), ...good.slice(6)]);
  expect(c.verdict).toBe('violation');
  expect(c.violations[0]).toEqual({
    kind: 'not-holder',
    report: 'log write 2:0:2 @7: no live lock key has create_revision 2 (its key was gone)',
  });
});

test('a write by a waiter while an older key is still live (overlapping holds) is caught', () => {
  expect(kinds([put(2, 'lock/a'), put(3, 'lock/b'), log(4, 3, 1, 0)])).toEqual(['not-holder']);
});

test('a token going back is caught even where the key would allow it', () => {
  // lock/b created at 3, lock/a re-created at 5 after b: a's token 5 then b's token 3 cannot both be holders.
  expect(kinds([put(3, 'lock/b'), log(4, 3, 1, 0), del(5, 'lock/b'), put(6, 'lock/a'), log(7, 6, 0, 0), log(8, 3, 1, 1)])).toEqual([
    'not-holder',
    'token-regression',
  ]);
});

test('an acknowledged write missing from the history, or a refused one applied, is caught', () => {
  expect(kinds(good, [ok(2, 0, 9, 5)])).toEqual(['lost-write']);
  const refused: LockWrite = { ...ok(2, 0, 1, 5), outcome: 'fail', error: 'the lock key is gone (compare failed)' };
  expect(kinds(good, [refused])).toEqual(['refused-write-applied']);
});
