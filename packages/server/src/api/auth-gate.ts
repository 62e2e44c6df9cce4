// Who is calling, as etcd decides it (auth/store.go AuthInfoFromCtx, AuthInfoFromTLS): the user named
// by the `token` metadata (auth tokens, storage/auth/token.ts), else, with --client-cert-auth, the
// common name of the caller's verified client certificate. Only with auth enabled; without it every
// call is anonymous and tokens are ignored (as etcd, so clients keep working after `auth disable`).
// A call forwarded by another node never takes the certificate's name (that is the peer's): the
// forwarding node passes the caller's token, or mints one for a certificate identity (forwardToken).
import type { Metadata } from '@grpc/grpc-js';
import type { AuthStore } from '../storage/auth/auth-store.js';
import { checkAdmin } from '../storage/auth/authorize.js';
import { invalidAuthToken } from '../storage/auth/errors.js';
import { DEFAULT_TOKEN_TTL_MS, signToken, verifyToken, type TokenKeys } from '../storage/auth/token.js';
import { isForwarded, TOKEN_HEADER } from './router.js';

/** What the gate reads from a call (grpc-js's AuthContext, which it does not export by name). */
export interface Caller {
  readonly metadata: Metadata;
  getAuthContext?(): { readonly sslPeerCertificate?: { readonly subject?: { readonly CN?: string | string[] } } } | null;
}

export interface AuthGateOptions {
  readonly store: AuthStore;
  /** etcd's --client-cert-auth: a verified client certificate's CN names the user. */
  readonly clientCertAuth: boolean;
  readonly tokenTtlMs?: number;
  readonly now?: () => number;
}

export class AuthGate {
  readonly store: AuthStore;
  private readonly keys: TokenKeys;
  private readonly now: () => number;

  constructor(private readonly o: AuthGateOptions) {
    this.store = o.store;
    this.now = o.now ?? Date.now;
    const store = o.store;
    this.keys = {
      get key() {
        return store.tokenKey;
      },
      passwordHashOf: (user) => store.user(user)?.passwordHash,
    };
  }

  /** The caller's user ('' for none); an unknown, expired or forged token is etcd's "invalid auth token". */
  user(call: Caller): string {
    if (!this.store.enabled) return '';
    const token = tokenOf(call);
    if (token !== null) {
      const user = verifyToken(this.keys, token, this.now());
      if (user === null) throw invalidAuthToken();
      return user;
    }
    if (this.o.clientCertAuth && !isForwarded(call)) return certificateName(call) ?? '';
    return '';
  }

  /** The token that carries this caller's identity to the leader, or null for none. */
  forwardToken(call: Caller): string | null {
    const token = tokenOf(call);
    if (token !== null) return token;
    const user = this.user(call);
    return user === '' ? null : this.sign(user);
  }

  /** A fresh token for `user` (Authenticate, once the password matched). */
  sign(user: string): string {
    return signToken(this.keys, user, this.now(), this.o.tokenTtlMs ?? DEFAULT_TOKEN_TTL_MS);
  }

  /** etcd's IsAdminPermitted for this caller (no-op with auth disabled); returns the user. */
  requireRoot(call: Caller): string {
    const user = this.user(call);
    checkAdmin(this.store, user);
    return user;
  }
}

function tokenOf(call: Caller): string | null {
  const v = call.metadata.get(TOKEN_HEADER)[0];
  return v === undefined ? null : String(v);
}

function certificateName(call: Caller): string | null {
  // A certificate with several CNs names no one user: no identity rather than a guess.
  const cn = call.getAuthContext?.()?.sslPeerCertificate?.subject?.CN;
  return typeof cn === 'string' && cn !== '' ? cn : null;
}
