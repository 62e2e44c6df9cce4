import { ConfigError } from './errors.js';
import type { NodeId } from './types.js';

/** Everything the core needs from outside. Clock and randomness are injected: the core owns neither. */
export interface RaftConfig {
  readonly id: NodeId;
  /** Initial voters (including this node), used only when storage holds no membership yet. */
  readonly peers: readonly NodeId[];
  /** Election timeouts are drawn uniformly from [min, max) on every reset (§5.2). */
  readonly electionTimeoutMinMs: number;
  readonly electionTimeoutMaxMs: number;
  /** Leader heartbeat interval; must be well under electionTimeoutMinMs. */
  readonly heartbeatIntervalMs: number;
  /** PreVote (thesis §9.6): a candidate first checks it could win before bumping its term. */
  readonly preVote: boolean;
  /** CheckQuorum (thesis §6.2): a leader that has not heard from a majority for an election timeout steps down. */
  readonly checkQuorum: boolean;
  /** Append messages in flight per follower in the replicate state before the leader waits for acks. */
  readonly maxInflightMessages: number;
  /** Upper bound on the entry bytes of one append message (at least one entry is always sent). */
  readonly maxMessageBytes: number;
  /** Upper bound on the entry bytes handed to the driver to apply in one Ready. */
  readonly maxCommittedBytesPerReady: number;
  /** Uniform random number in [0, 1): the only source of randomness. */
  readonly random: () => number;
  /** The clock reading (ms) at construction; later readings come through tick(now). */
  readonly nowMs: number;
  /**
   * The state machine's applied index at start: committed entries after it are handed out again.
   * Must not exceed the persisted commit index.
   */
  readonly applied: number;
}

export const DEFAULT_CONFIG = {
  electionTimeoutMinMs: 150,
  electionTimeoutMaxMs: 300,
  heartbeatIntervalMs: 50,
  preVote: true,
  checkQuorum: true,
  maxInflightMessages: 256,
  maxMessageBytes: 1 << 20,
  maxCommittedBytesPerReady: 16 << 20,
  applied: 0,
} as const;

export type RaftOptions = Pick<RaftConfig, 'id' | 'peers' | 'random' | 'nowMs'> &
  Partial<Omit<RaftConfig, 'id' | 'peers' | 'random' | 'nowMs'>>;

/** Fills defaults and validates; throws ConfigError naming the first bad field. */
export function resolveConfig(opts: RaftOptions): RaftConfig {
  const c: RaftConfig = { ...DEFAULT_CONFIG, ...opts };
  const positiveInt = (field: keyof RaftConfig, v: number): void => {
    if (!Number.isInteger(v) || v <= 0) throw new ConfigError(field, `must be a positive integer, got ${v}`);
  };
  if (c.id === '') throw new ConfigError('id', 'must not be empty');
  if (new Set(c.peers).size !== c.peers.length) throw new ConfigError('peers', 'lists a node twice');
  if (c.peers.some((p) => p === '')) throw new ConfigError('peers', 'contains an empty id');
  positiveInt('electionTimeoutMinMs', c.electionTimeoutMinMs);
  positiveInt('electionTimeoutMaxMs', c.electionTimeoutMaxMs);
  positiveInt('heartbeatIntervalMs', c.heartbeatIntervalMs);
  positiveInt('maxInflightMessages', c.maxInflightMessages);
  positiveInt('maxMessageBytes', c.maxMessageBytes);
  positiveInt('maxCommittedBytesPerReady', c.maxCommittedBytesPerReady);
  if (c.electionTimeoutMaxMs <= c.electionTimeoutMinMs) {
    const got = `got ${c.electionTimeoutMaxMs}`;
    throw new ConfigError('electionTimeoutMaxMs', `must exceed electionTimeoutMinMs (${c.electionTimeoutMinMs}), ${got}`);
  }
  if (c.heartbeatIntervalMs * 2 > c.electionTimeoutMinMs) {
    const got = `got ${c.heartbeatIntervalMs}`;
    throw new ConfigError('heartbeatIntervalMs', `must be at most half of electionTimeoutMinMs (${c.electionTimeoutMinMs}), ${got}`);
  }
  if (!Number.isInteger(c.applied) || c.applied < 0) throw new ConfigError('applied', `must be a non-negative integer, got ${c.applied}`);
  if (!Number.isFinite(c.nowMs)) throw new ConfigError('nowMs', `must be a finite number, got ${c.nowMs}`);
  return c;
}
