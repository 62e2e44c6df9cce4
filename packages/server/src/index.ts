export { RaftkvServer } from './raft-server.js';
export { FLAGS as SERVER_FLAGS, parseConfig, type ServerConfig } from './cli/config.js';
export { openDatabase } from './storage/db.js';
export { SqliteLogStorage } from './storage/log-storage.js';
export { KvStateMachine } from './storage/state-machine.js';
export * from './errors.js';
export { writeBackupFile } from './storage/backup-file.js';
