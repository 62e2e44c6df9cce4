import { jestConfig } from '../../jest.preset.mjs';

// One test file at a time: each starts a real cluster, and the machine has two cores.
export default jestConfig({ maxWorkers: 1 });
