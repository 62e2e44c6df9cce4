// Auth tokens every node can verify: "user.expiry.mac", the MAC an HMAC-SHA256 under the cluster's
// token key (replicated through the log by AuthEnable) over the user, the expiry and the user's current
// password hash. So a client that fails over to another node, and a call a follower forwards to the
// leader, keep their identity; changing the user's password, deleting the user or enabling auth again
// (a new key) invalidates the user's tokens, as etcd's simple tokens are. Expiry is checked against
// this node's clock, at the edge (never inside apply). Only the mac is secret-derived; names stay readable.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** etcd's --auth-token-ttl default (300 s). */
export const DEFAULT_TOKEN_TTL_MS = 300_000;

export interface TokenKeys {
  /** The cluster's token key; empty while auth was never enabled. */
  readonly key: Buffer;
  /** The user's password hash ('' without password); undefined: no such user. */
  passwordHashOf(user: string): string | undefined;
}

const mac = (key: Buffer, user: string, expiry: number, passwordHash: string): Buffer =>
  createHmac('sha256', key).update(`${user}\n${expiry}\n${passwordHash}`).digest();

export function signToken(keys: TokenKeys, user: string, nowMs: number, ttlMs = DEFAULT_TOKEN_TTL_MS): string {
  const hash = keys.passwordHashOf(user) ?? '';
  const expiry = nowMs + ttlMs;
  return `${Buffer.from(user).toString('base64url')}.${expiry}.${mac(keys.key, user, expiry, hash).toString('base64url')}`;
}

/** The user a token names, or null when it is malformed, forged, expired or its user changed. */
export function verifyToken(keys: TokenKeys, token: string, nowMs: number): string | null {
  const parts = token.split('.');
  if (parts.length !== 3 || keys.key.length === 0) return null;
  const user = Buffer.from(parts[0]!, 'base64url').toString();
  const expiry = Number(parts[1]);
  if (!Number.isSafeInteger(expiry) || expiry <= nowMs) return null;
  const hash = keys.passwordHashOf(user);
  if (hash === undefined) return null;
  const want = mac(keys.key, user, expiry, hash);
  const got = Buffer.from(parts[2]!, 'base64url');
  return got.length === want.length && timingSafeEqual(got, want) ? user : null;
}
