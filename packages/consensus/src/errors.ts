// Typed errors of the core. `code` mirrors the gRPC status the driver should answer with.

export type RaftErrorCode = 'FAILED_PRECONDITION' | 'UNAVAILABLE' | 'INVALID_ARGUMENT';

export abstract class RaftError extends Error {
  abstract readonly code: RaftErrorCode;
}

/** This node is not the leader; `leaderId` is the leader it knows of, or NONE. */
export class NotLeaderError extends RaftError {
  override readonly name = 'NotLeaderError';
  readonly code = 'UNAVAILABLE';
  constructor(readonly leaderId: string) {
    super(leaderId ? `not the leader; the leader is ${leaderId}` : 'not the leader; no leader is known');
  }
}

/** The leader refuses new work for now (a leadership transfer is under way). */
export class ProposalDroppedError extends RaftError {
  override readonly name = 'ProposalDroppedError';
  readonly code = 'UNAVAILABLE';
  constructor(reason: string) {
    super(`proposal dropped: ${reason}`);
  }
}

/** A request the core cannot carry out as asked (e.g. transfer leadership to a non-voter). */
export class InvalidRequestError extends RaftError {
  override readonly name = 'InvalidRequestError';
  readonly code = 'INVALID_ARGUMENT';
}

/** A configuration value is out of range; `field` names it. */
export class ConfigError extends RaftError {
  override readonly name = 'ConfigError';
  readonly code = 'INVALID_ARGUMENT';
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

export function isRaftError(e: unknown): e is RaftError {
  return e instanceof RaftError;
}
