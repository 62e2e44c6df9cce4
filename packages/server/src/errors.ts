// Typed errors of the server. `code` is the gRPC status the edge (api/grpc-errors.ts) answers with.
import { status } from '@grpc/grpc-js';
import { NotLeaderError, type RaftError } from '@raftkv/consensus';

export abstract class RaftkvError extends Error {
  abstract readonly code: status;
}

/** Bad client input: answered with INVALID_ARGUMENT and a message naming the field. */
export class InvalidArgumentError extends RaftkvError {
  override readonly name = 'InvalidArgumentError';
  readonly code = status.INVALID_ARGUMENT;
}

/**
 * No leader or no quorum reachable, or this node is shutting down. `leaderId` is the leader this node
 * knows of (or ''). `safeToRetry` is true when the command certainly was not and will not be applied
 * (it never entered the log, or its entry was overwritten), so a forwarding node may retry it.
 */
export class UnavailableError extends RaftkvError {
  override readonly name = 'UnavailableError';
  readonly code = status.UNAVAILABLE;
  constructor(
    message: string,
    readonly leaderId = '',
    readonly safeToRetry = false,
    options?: ErrorOptions,
  ) {
    super(leaderId ? `${message} (leader: ${leaderId})` : `${message} (no leader known)`, options);
  }
}

/** The caller's deadline passed before the answer was known. */
export class DeadlineExceededError extends RaftkvError {
  override readonly name = 'DeadlineExceededError';
  readonly code = status.DEADLINE_EXCEEDED;
}

/**
 * Admission control refused a proposal: the leader has too much in flight (pending proposals or bytes,
 * or applying lags committing by more than etcd's 5000 entries). It never entered the log: the caller
 * may retry later. etcd's ErrTooManyRequests, word for word, on both APIs.
 */
export class TooManyRequestsError extends RaftkvError {
  override readonly name = 'TooManyRequestsError';
  readonly code = status.RESOURCE_EXHAUSTED;
  constructor(readonly reason: string) {
    super('etcdserver: too many requests');
  }
}

/** A configuration value is missing or wrong; `flag` names it (e.g. "--peers"). */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly flag: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`${flag}: ${reason}`, options);
  }
}

/** The disk or database failed: the node must stop rather than diverge. */
export class StorageFailure extends Error {
  override readonly name = 'StorageFailure';
}

/** The request is valid but the cluster is not in a state to carry it out (e.g. a removal that would lose quorum). */
export class FailedPreconditionError extends RaftkvError {
  override readonly name = 'FailedPreconditionError';
  readonly code = status.FAILED_PRECONDITION;
}

/**
 * A command kind the cluster cannot apply yet: some member runs an older release (a rolling upgrade is
 * not finished). Never entered the log. etcd answers a missing capability with "etcdserver: not capable".
 */
export class NotCapableError extends RaftkvError {
  override readonly name = 'NotCapableError';
  readonly code = status.UNAVAILABLE;
}

/**
 * A refusal of the Raft core in the server's terms, by the status the core names in `code`. Every core
 * refusal means the request never entered the log, so an UNAVAILABLE one is safe to retry. `leaderId`
 * is the leader this node knows of (a NotLeaderError names its own).
 */
export function fromRaftError(e: RaftError, leaderId: string): RaftkvError {
  switch (e.code) {
    case 'UNAVAILABLE':
      return e instanceof NotLeaderError
        ? new UnavailableError('not the leader', e.leaderId, true, { cause: e })
        : new UnavailableError(e.message, leaderId, true, { cause: e });
    case 'INVALID_ARGUMENT':
      return new InvalidArgumentError(e.message, { cause: e });
    case 'FAILED_PRECONDITION':
      return new FailedPreconditionError(e.message, { cause: e });
  }
}
