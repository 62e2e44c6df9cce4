// A minimal end-to-end check of the core through its public API: three nodes, a perfect network.
import { TestCluster } from './harness.js';

test('three nodes elect one leader, replicate and apply a proposal everywhere', () => {
  const c = new TestCluster(['n1', 'n2', 'n3']);
  c.run(400);
  const leader = c.leader();
  expect(leader).toBeDefined();
  const index = c.put('x=1');
  for (const n of c.nodes.values()) {
    expect(n.node.status().leaderId).toBe(leader!.id);
    expect(n.node.status().commit).toBeGreaterThanOrEqual(index);
    expect(n.state).toEqual(['x=1']);
  }
});
