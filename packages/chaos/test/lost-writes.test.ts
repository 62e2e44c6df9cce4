import { findLostWrites } from '../src/checker/index.js';
import { HistoryBuilder } from './support/histories.js';

describe('lost acknowledged writes', () => {
  test('an acknowledged put missing from the final read is reported', () => {
    const h = new HistoryBuilder().put(1, 0, 1, 'a').put(1, 2, 3, 'b').read(2, 10, 11, 'a');
    const lost = findLostWrites(h.ops);
    expect(lost.map((l) => [l.key, l.write.id, l.finalRead.id])).toEqual([['k', 1, 2]]);
    expect(lost[0]!.report).toContain('acknowledged write lost');
  });

  test('a key back to absent after an acknowledged put, with no delete, is a lost write', () => {
    const h = new HistoryBuilder().put(1, 0, 1, 'a').read(2, 10, 11, null);
    expect(findLostWrites(h.ops).map((l) => l.write.id)).toEqual([0]);
  });

  test('the final value of the last write, or of a concurrent one, is fine', () => {
    expect(findLostWrites(new HistoryBuilder().put(1, 0, 1, 'a').put(1, 2, 3, 'b').read(2, 10, 11, 'b').ops)).toEqual([]);
    expect(findLostWrites(new HistoryBuilder().put(1, 0, 5, 'a').put(2, 1, 4, 'b').read(3, 10, 11, 'a').ops)).toEqual([]);
  });

  test('an indeterminate write may be the last one; a failed CAS overwrites nothing', () => {
    expect(
      findLostWrites(new HistoryBuilder().put(1, 0, 1, 'a').put(2, 0.5, 2, 'x', 'info').put(1, 2, 3, 'b').read(3, 10, 11, 'x').ops),
    ).toEqual([]);
    expect(findLostWrites(new HistoryBuilder().put(1, 0, 1, 'a').cas(2, 2, 3, 'zz', 'q', false, 'a').read(3, 10, 11, 'a').ops)).toEqual([]);
  });

  test('a delete explains an absent final read', () => {
    expect(findLostWrites(new HistoryBuilder().put(1, 0, 1, 'a').del(2, 2, 3).read(3, 10, 11, null).ops)).toEqual([]);
  });
});
