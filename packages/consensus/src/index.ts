export * from './types.js';
export * from './errors.js';
export * from './config.js';
export { RaftNode, changeConf } from './raft.js';
export { MemoryStorage } from './storage.js';
export { malformed } from './message.js';
