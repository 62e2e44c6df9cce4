import { jestConfig } from '../../jest.preset.mjs';

// Integration tests start real node processes: generous timeouts only to avoid hangs.
export default jestConfig({ testTimeout: 180_000 });
