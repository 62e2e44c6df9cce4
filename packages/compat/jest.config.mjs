import { jestConfig } from '../../jest.preset.mjs';

// One file at a time: each starts an etcd and a 3-node raftkv, and the machine has two cores.
export default jestConfig({ maxWorkers: 1, testTimeout: 120_000 });
