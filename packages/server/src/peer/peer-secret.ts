// The shared cluster secret (--peer-secret-file): how a peer stream proves, without TLS, that its
// opener holds the secret. The opener puts in the call's metadata its id, a timestamp, a random nonce
// and HMAC-SHA256(secret; cluster id, sender, receiver, method, timestamp, nonce); the receiver's
// interceptor (peer-guard.ts) checks it before the handler sees a byte.
//
// Replays: a gRPC client stream has no server-first message, so a challenge would cost a round trip
// and a new RPC. Instead a stream start is valid for WINDOW_MS around the receiver's clock, and the
// receiver remembers every nonce it accepted for longer than that, so a captured stream start is
// refused the second time; one older than the receiver's process is refused too, so a restart (which
// forgets the nonces) does not reopen the window. The MAC names the receiver: a start captured on
// its way to one node is worthless at another. Peers' clocks must agree within WINDOW_MS.
//
// What it does not do: encrypt, or protect the messages after the start from an attacker on the path
// (use mutual TLS for that, --peer-tls-*).
import { Metadata } from '@grpc/grpc-js';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';

export const WINDOW_MS = 30_000;
/** Accepted nonces remembered at most (only verified starts are remembered: outsiders cannot fill it). */
const MAX_NONCES = 100_000;
/** Shorter secrets are refused: they can be guessed offline from one captured stream start. */
const MIN_SECRET_BYTES = 32;

const KEY = { from: 'raftkv-peer-from', ts: 'raftkv-peer-ts', nonce: 'raftkv-peer-nonce', mac: 'raftkv-peer-mac' } as const;

/** Reads --peer-secret-file; trailing whitespace (an editor's newline) is not part of the secret. */
export function readPeerSecret(path: string): Buffer {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (e) {
    throw new ConfigError('--peer-secret-file', `cannot read ${JSON.stringify(path)}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, {
      cause: e,
    });
  }
  let end = raw.length;
  while (end > 0 && [0x20, 0x09, 0x0a, 0x0d].includes(raw[end - 1]!)) end--;
  const secret = raw.subarray(0, end);
  if (secret.length < MIN_SECRET_BYTES) {
    throw new ConfigError(
      '--peer-secret-file',
      `${JSON.stringify(path)} holds ${secret.length} bytes; at least ${MIN_SECRET_BYTES} are needed (e.g. openssl rand -hex 32)`,
    );
  }
  return Buffer.from(secret);
}

function mac(secret: Buffer, clusterId: string, from: string, to: string, method: string, ts: string, nonce: string): Buffer {
  // JSON: an unambiguous encoding of the fields, whatever characters the ids hold.
  return createHmac('sha256', secret)
    .update(JSON.stringify(['raftkv-peer-v1', clusterId, from, to, method, ts, nonce]))
    .digest();
}

/** The metadata that opens a peer stream from `from` to `to` (a fresh nonce each time). */
export function signPeerCall(secret: Buffer, clusterId: string, from: string, to: string, method: string, nowMs = Date.now()): Metadata {
  const ts = String(nowMs);
  const nonce = randomBytes(16).toString('hex');
  const md = new Metadata();
  md.set(KEY.from, encodeURIComponent(from));
  md.set(KEY.ts, ts);
  md.set(KEY.nonce, nonce);
  md.set(KEY.mac, mac(secret, clusterId, from, to, method, ts, nonce).toString('hex'));
  return md;
}

export class PeerAuthError extends Error {
  override readonly name = 'PeerAuthError';
}

/** Checks stream starts for one receiving node; remembers accepted nonces. */
export class PeerSecretVerifier {
  /** nonce -> when it may be forgotten; inserted in that order, so the oldest are first. */
  private readonly nonces = new Map<string, number>();
  private readonly startedAt: number;

  constructor(
    private readonly secret: Buffer,
    private readonly clusterId: string,
    private readonly self: string,
    private readonly now: () => number = Date.now,
  ) {
    this.startedAt = now();
  }

  /** The sender's id, or PeerAuthError saying what is wrong (never anything about the secret). */
  verify(md: Metadata, method: string): string {
    const one = (k: string): string => {
      const v = md.get(k);
      if (v.length !== 1 || typeof v[0] !== 'string' || v[0] === '')
        throw new PeerAuthError(`no peer credentials (${k}); is --peer-secret-file set on the sender?`);
      return v[0];
    };
    const fromRaw = one(KEY.from);
    const ts = one(KEY.ts);
    const nonce = one(KEY.nonce);
    const got = Buffer.from(one(KEY.mac), 'hex');
    let from: string;
    try {
      from = decodeURIComponent(fromRaw);
    } catch (e) {
      throw new PeerAuthError('bad sender id encoding', { cause: e });
    }
    if (!/^\d{1,16}$/.test(ts) || !/^[0-9a-f]{32}$/.test(nonce)) throw new PeerAuthError('malformed peer credentials');
    const want = mac(this.secret, this.clusterId, from, this.self, method, ts, nonce);
    if (got.length !== want.length || !timingSafeEqual(got, want))
      throw new PeerAuthError(`bad peer credentials from ${JSON.stringify(from)} (wrong secret?)`);
    const now = this.now();
    const at = Number(ts);
    if (Math.abs(now - at) > WINDOW_MS)
      throw new PeerAuthError(
        `stream start is ${Math.round((now - at) / 1000)} s old: outside ±${WINDOW_MS / 1000} s (clocks out of sync, or a replay)`,
      );
    if (at < this.startedAt) throw new PeerAuthError('stream start predates this process (a replay, or a peer clock behind ours)');
    this.forgetExpired(now);
    if (this.nonces.has(nonce)) throw new PeerAuthError('replayed stream start');
    if (this.nonces.size >= MAX_NONCES) throw new PeerAuthError('too many stream starts in the replay window');
    this.nonces.set(nonce, now + 2 * WINDOW_MS);
    return from;
  }

  private forgetExpired(now: number): void {
    for (const [n, until] of this.nonces) {
      if (until > now) break;
      this.nonces.delete(n);
    }
  }
}

/** What a node puts in the metadata of each peer stream it opens (empty without a secret). */
export type PeerCallAuth = (to: string, method: string) => Metadata;

export function peerCallAuth(secret: Buffer | null, clusterId: string, self: string): PeerCallAuth {
  return (to, method) => (secret === null ? new Metadata() : signPeerCall(secret, clusterId, self, to, method));
}
