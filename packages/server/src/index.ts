export { RaftkvServer } from './raft-server.js';
export { FLAGS as SERVER_FLAGS, parseConfig, type ServerConfig } from './config.js';
export { openDatabase } from './db.js';
export { SqliteLogStorage } from './log-storage.js';
export { KvStateMachine } from './state-machine.js';
export * from './errors.js';
