// The checkers must be able to fail: feed them histories that break each property.
import { NONE, type Entry, type HardState, type Message, type Ready } from '@raftkv/consensus';
import { SafetyChecker } from '../src/checker.js';
import { encodeCommand } from '../src/commands.js';
import { SimNode } from '../src/node.js';
import { Rng } from '../src/rng.js';
import { violationOf } from '../src/violation.js';

const ids = ['n1', 'n2', 'n3'];

function setup(): { checker: SafetyChecker; nodes: SimNode[] } {
  const rng = new Rng(1);
  const nodes = ids.map((id) => new SimNode(id, ids, {}, rng, 1, 0));
  for (const n of nodes) n.conf = { voters: ids, learners: [] };
  return { checker: new SafetyChecker(nodes), nodes };
}

const entry = (index: number, term: number, cmd = ''): Entry => ({ index, term, type: 'normal', data: encodeCommand(cmd) });

const READY: Ready = {
  softState: null,
  snapshot: null,
  hardState: null,
  entries: [],
  committedEntries: [],
  messages: [],
  readStates: [],
  events: [],
  mustSync: false,
  messagesBeforePersist: false,
};

/** What the driver does in step 1, then the checker's look at it. */
function persist(c: SafetyChecker, n: SimNode, entries: Entry[], hs?: Partial<HardState>): void {
  const prevHard = n.hardState;
  const first = entries[0];
  const removed: number[] = [];
  if (first) {
    for (let i = first.index; i <= n.storage.lastIndex(); i++) removed.push(n.storage.term(i));
    n.storage.append(entries);
  }
  const hardState = hs ? { ...n.hardState, ...hs } : null;
  if (hardState) {
    n.storage.setHardState(hardState);
    n.hardState = hardState;
  }
  c.onPersist(n, { ...READY, entries, hardState }, prevHard, n.role, removed);
}

const msg = (m: Partial<Message> & Pick<Message, 'type' | 'from' | 'to' | 'term'>): Message => ({
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

describe('the safety checker catches', () => {
  test('two leaders in one term (Election Safety)', () => {
    const { checker, nodes } = setup();
    for (const n of nodes.slice(0, 2)) {
      n.hardState = { term: 1, vote: n.id, commit: 0 };
      n.role = 'leader';
    }
    checker.onRole(nodes[0]!, 'candidate');
    expect(violationOf(() => checker.onRole(nodes[1]!, 'candidate'))).toBe('Election Safety');
  });

  test('two logs with different entries at the same index and term (Log Matching)', () => {
    const { checker, nodes } = setup();
    persist(checker, nodes[0]!, [entry(1, 1, 'a')], { term: 1 });
    expect(violationOf(() => persist(checker, nodes[1]!, [entry(1, 1, 'b')], { term: 1 }))).toBe('Log Matching');
  });

  test('a commit that no majority stored', () => {
    const { checker, nodes } = setup();
    persist(checker, nodes[0]!, [entry(1, 1)], { term: 1 });
    expect(violationOf(() => persist(checker, nodes[0]!, [], { commit: 1 }))).toBe('Commit needs a quorum');
  });

  test('a committed entry truncated off a majority, and a second vote in one term', () => {
    const { checker, nodes } = setup();
    for (const n of nodes.slice(0, 2)) persist(checker, n, [entry(1, 1)], { term: 1, vote: 'n1' });
    persist(checker, nodes[0]!, [], { commit: 1 });
    nodes[1]!.hardState = { term: 2, vote: NONE, commit: 0 };
    expect(violationOf(() => persist(checker, nodes[1]!, [entry(1, 2)]))).toBe('No committed entry lost');
    expect(violationOf(() => persist(checker, nodes[2]!, [], { term: 1, vote: 'n1' }))).toBe('none');
    expect(violationOf(() => persist(checker, nodes[2]!, [], { vote: 'n2' }))).toBe('One vote per term');
  });

  test('applying something other than what was committed (State Machine Safety)', () => {
    const { checker, nodes } = setup();
    for (const n of nodes.slice(0, 2)) persist(checker, n, [entry(1, 1)], { term: 1 });
    persist(checker, nodes[0]!, [], { commit: 1 });
    nodes[2]!.hardState = { term: 1, vote: NONE, commit: 1 };
    expect(violationOf(() => checker.onApply(nodes[2]!, entry(1, 1, 'other')))).toBe('State Machine Safety');
    expect(violationOf(() => checker.onApply(nodes[0]!, entry(2, 1)))).toBe('Apply in order');
  });

  test('a vote or an acknowledgement sent before it was persisted', () => {
    const { checker, nodes } = setup();
    const n = nodes[1]!;
    expect(violationOf(() => checker.onSend(n, msg({ type: 'vote-response', from: 'n2', to: 'n1', term: 1 })))).toBe('Persist before send');
    expect(violationOf(() => checker.onSend(n, msg({ type: 'append-response', from: 'n2', to: 'n1', term: 0, index: 3 })))).toBe(
      'Persist before send',
    );
  });

  test('a stale read', () => {
    const { checker, nodes } = setup();
    for (const n of nodes) persist(checker, n, [entry(1, 1)], { term: 1 });
    persist(checker, nodes[0]!, [], { commit: 1 });
    checker.noteReadIssued(7, nodes[1]!);
    nodes[1]!.hardState = { term: 1, vote: NONE, commit: 1 };
    expect(violationOf(() => checker.onReadState(nodes[1]!, { requestId: 7, index: 0 }, 0))).toBe('Linearizable reads');
  });
});
