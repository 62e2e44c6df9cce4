export * from './types.js';
export * from './errors.js';
export * from './config.js';
export { RaftNode } from './raft.js';
export { MemoryStorage } from './storage.js';
