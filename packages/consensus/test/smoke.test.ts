// A minimal end-to-end check of the core through its public API: three nodes, a perfect network.
import { MemoryStorage, RaftNode, type Message, type Entry } from '../src/index.js';

function cluster(n: number) {
  const ids = Array.from({ length: n }, (_, i) => `n${i + 1}`);
  let seed = 1;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const nodes = new Map(ids.map((id) => {
    const storage = new MemoryStorage();
    return [id, { storage, node: new RaftNode({ id, peers: ids, random, nowMs: 0 }, storage), applied: [] as Entry[] }];
  }));
  let inbox: Message[] = [];
  function pump(): void {
    for (let round = 0; round < 100; round++) {
      for (const { node, storage, applied } of nodes.values()) {
        while (node.hasReady()) {
          const rd = node.ready();
          storage.append(rd.entries);
          if (rd.hardState) storage.setHardState(rd.hardState);
          inbox.push(...rd.messages);
          applied.push(...rd.committedEntries);
          node.advance(rd);
        }
      }
      if (inbox.length === 0) return;
      const batch = inbox;
      inbox = [];
      for (const m of batch) nodes.get(m.to)!.node.step(m);
    }
  }
  return { nodes, pump };
}

test('three nodes elect one leader, replicate and apply a proposal everywhere', () => {
  const { nodes, pump } = cluster(3);
  for (let t = 0; t <= 400; t += 10) {
    for (const { node } of nodes.values()) node.tick(t);
    pump();
  }
  const leaders = [...nodes.values()].filter(({ node }) => node.status().role === 'leader');
  expect(leaders).toHaveLength(1);
  const leader = leaders[0]!.node;
  const { firstIndex } = leader.propose([new TextEncoder().encode('x=1')]);
  pump();
  for (let t = 410; t <= 600; t += 10) {
    for (const { node } of nodes.values()) node.tick(t);
    pump();
  }
  for (const { node, applied } of nodes.values()) {
    expect(node.status().leaderId).toBe(leader.id);
    expect(node.status().commit).toBeGreaterThanOrEqual(firstIndex);
    const e = applied.find((x) => x.index === firstIndex);
    expect(new TextDecoder().decode(e!.data)).toBe('x=1');
  }
});
