export * from './types.js';
export * from './errors.js';
export * from './config.js';
export { RaftNode } from './raft.js';
export { changeConf } from './membership.js';
export type { CampaignKind } from './elections.js';
export { MemoryStorage } from './storage.js';
export { malformed, TERM_LEAD_SLACK } from './message.js';
