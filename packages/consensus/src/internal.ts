// The core's insides, for the simulator's mutation tests (@raftkv/consensus-sim), which break a
// rule on purpose and check that the safety checkers notice. Not an API: anything here may change.
export { RaftLog } from './log.js';
export { RaftState } from './state.js';
