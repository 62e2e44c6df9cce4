// Sends each client call to the leader: served locally when this node leads, otherwise forwarded
// over gRPC to the leader's address. Waits for a leader up to the caller's deadline. A forwarded call
// is never forwarded again (no loops): a node that is not the leader answers UNAVAILABLE with a retry
// hint, and the originating node retries once it learns of a new leader.
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { KVClient, type ProposeRequest, type ProposeResponse, type ReadRequest, type ReadResponse } from '@raftkv/proto';
import type { RaftDriver } from '../node/driver.js';
import { UnavailableError } from '../errors.js';
import { fromServiceError } from './grpc-errors.js';
import { dialAddress } from '../grpc/grpc-options.js';
import { channelCredentials } from '../grpc/tls.js';

export const FORWARDED_HEADER = 'raftkv-forwarded';

/** How long a caller without a deadline may wait for a leader. */
export const DEFAULT_WAIT_MS = 10_000;
/** Pause before retrying a leader that refused (it may not know yet that it lost). */
const RETRY_PAUSE_MS = 20;

/**
 * Stop waiting for a leader this long before the caller's deadline (a tenth of the time left, at most
 * 200 ms), so the caller hears UNAVAILABLE "no leader" rather than running into its own deadline.
 */
export function answerBy(deadlineMs: number, now = Date.now()): number {
  return deadlineMs - Math.min(200, Math.max(0, (deadlineMs - now) / 10));
}

export interface RouterOptions {
  readonly self: string;
  readonly peers: ReadonlyMap<string, string>;
  readonly dialOverrides: ReadonlyMap<string, string>;
  readonly driver: RaftDriver;
  /** A reason to refuse client calls at once (e.g. this node was removed from the cluster), or null. */
  readonly refuse?: () => UnavailableError | null;
}

export class LeaderRouter {
  private readonly clients = new Map<string, KVClient>();

  constructor(private readonly o: RouterOptions) {}

  /**
   * Runs `local` if this node leads, else `remote` against the leader's client. `idempotent` calls
   * (reads) retry on any UNAVAILABLE; proposals only when the command certainly was not applied.
   */
  async route<T>(
    deadlineMs: number,
    forwarded: boolean,
    idempotent: boolean,
    local: () => Promise<T>,
    remote: (client: KVClient, md: Metadata, deadline: number) => Promise<T>,
  ): Promise<T> {
    const d = this.o.driver;
    const refused = this.o.refuse?.();
    if (refused) throw refused;
    const waitUntil = Number.isFinite(deadlineMs) ? answerBy(deadlineMs) : Date.now() + DEFAULT_WAIT_MS;
    for (;;) {
      const leader = d.leaderId;
      let refused: UnavailableError | null = null;
      try {
        if (d.isLeader) return await local();
        if (leader !== '' && leader !== this.o.self && !forwarded) {
          const md = new Metadata();
          md.set(FORWARDED_HEADER, this.o.self);
          return await remote(this.client(leader), md, deadlineMs);
        }
      } catch (e) {
        if (!(e instanceof UnavailableError) || !(e.safeToRetry || idempotent)) throw e;
        refused = e;
      }
      // A forwarded call goes back to its origin, which knows how long its caller can wait.
      if (forwarded) throw refused ?? new UnavailableError('not the leader', d.leaderId, true);
      if (Date.now() >= waitUntil) {
        throw new UnavailableError(refused ? `no leader accepted the call before the deadline: ${refused.message}` : 'no leader before the deadline', d.leaderId, true);
      }
      if (leader === '' || leader === this.o.self) await d.waitForLeaderChange(waitUntil);
      else await d.waitForLeaderChange(Math.min(waitUntil, Date.now() + RETRY_PAUSE_MS));
    }
  }

  propose(req: ProposeRequest, data: Uint8Array, deadlineMs: number, forwarded: boolean): Promise<ProposeResponse> {
    return this.route(deadlineMs, forwarded, false, () => this.o.driver.propose(data), (c, md, deadline) =>
      unary<ProposeResponse>((cb) => c.propose(req, md, { deadline }, cb)),
    );
  }

  readLinearizable(req: ReadRequest, deadlineMs: number, forwarded: boolean, local: () => Promise<ReadResponse>): Promise<ReadResponse> {
    return this.route(deadlineMs, forwarded, true, local, (c, md, deadline) => unary<ReadResponse>((cb) => c.read(req, md, { deadline }, cb)));
  }

  private client(id: string): KVClient {
    let c = this.clients.get(id);
    if (c === undefined) {
      const addr = this.o.peers.get(id);
      if (addr === undefined) throw new UnavailableError(`leader ${id} has no known address`, id, true);
      c = new KVClient(dialAddress(addr, this.o.dialOverrides), channelCredentials(), {
        'grpc.max_receive_message_length': 64 << 20,
        'grpc.max_send_message_length': 64 << 20,
        'grpc.initial_reconnect_backoff_ms': 50,
        'grpc.max_reconnect_backoff_ms': 1000,
      });
      this.clients.set(id, c);
    }
    return c;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

function unary<T>(start: (cb: (err: ServiceError | null, res?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    start((err, res) => {
      if (err) reject(fromServiceError(err));
      else resolve(res as T);
    });
  });
}
