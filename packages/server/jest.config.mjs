import { jestConfig } from '../../jest.preset.mjs';

// Integration tests start real node processes: generous timeouts only to avoid hangs. Two files at a
// time: most of a cluster test's time is spent waiting (elections, child processes, polls), so two
// workers nearly halve the package's wall time on a 2-core machine without starving the nodes.
export default jestConfig({ testTimeout: 180_000, maxWorkers: 2 });
