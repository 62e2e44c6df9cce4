// raftctl's `--user name[:password]` (etcdctl's authCfgFromCmd): Authenticate once on the first member
// that answers, then every call carries the token in etcd's `token` metadata (a client interceptor, so
// the KV, raftkv.v1 and admin calls of @raftkv/client all send it). Auth calls of the user/role/auth
// commands go to the members in turn until one answers other than UNAVAILABLE.
import { credentials, InterceptingCall, Metadata, status, type ChannelCredentials, type Interceptor } from '@grpc/grpc-js';
import { etcdserverpb } from '@raftkv/proto';
import { isServiceError } from '@raftkv/client';
import type { AuthCall } from './auth-commands.js';
import { EXIT, EtcdctlError } from './ops.js';

export interface Credentials {
  readonly user: string;
  readonly password: string;
}

/** `--user name[:password]` and `--password`; a missing password is read from standard input. */
export function credentialsOf(user: string | undefined, password: string | undefined, stdin: () => Buffer): Credentials | null {
  if (user === undefined || user === '') return null;
  if (password !== undefined && password !== '') return { user, password };
  const i = user.indexOf(':');
  if (i >= 0) return { user: user.slice(0, i), password: user.slice(i + 1) };
  return { user, password: stdin().toString('utf8').split(/\r?\n/)[0] ?? '' };
}

/** Adds `token` to every call's metadata. */
export function tokenInterceptor(token: string): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set('token', token);
        next(metadata, listener);
      },
    });
}

/** Client options that send `token` on every call (none added for no token). */
export function withToken<O extends object>(options: O, token: string | null | undefined): O {
  return token == null ? options : { ...options, interceptors: [tokenInterceptor(token)] };
}

export class AuthSession {
  private readonly clients = new Map<string, etcdserverpb.AuthClient>();
  private token: string | null = null;

  constructor(
    private readonly endpoints: readonly string[],
    private readonly creds: ChannelCredentials = credentials.createInsecure(),
    private readonly timeoutMs = 5000,
  ) {}

  /** Authenticates; etcdctl exits with its bad-connection code when that fails. */
  async login(c: Credentials): Promise<string> {
    try {
      const r = await this.call('authenticate', { name: c.user, password: c.password });
      this.token = r.token;
      return r.token;
    } catch (e) {
      if (isServiceError(e)) throw new EtcdctlError(EXIT.badConnection, e.details, { cause: e });
      throw e;
    }
  }

  readonly call: AuthCall = async (method, req) => {
    let last: unknown = new Error('no endpoint');
    for (const address of this.endpoints) {
      try {
        return await this.once(address, method, req);
      } catch (e) {
        last = e;
        if (!isServiceError(e) || e.code !== status.UNAVAILABLE) throw e;
      }
    }
    throw last;
  };

  private once<R>(address: string, method: string, req: unknown): Promise<R> {
    let c = this.clients.get(address);
    if (c === undefined) this.clients.set(address, (c = new etcdserverpb.AuthClient(address, this.creds)));
    const md = new Metadata();
    if (this.token !== null) md.set('token', this.token);
    const fn = (c as unknown as Record<string, (r: unknown, m: Metadata, o: object, cb: (e: Error | null, r?: R) => void) => void>)[
      method
    ]!;
    return new Promise<R>((resolve, reject) =>
      fn.call(c, req, md, { deadline: Date.now() + this.timeoutMs }, (e, r) => (e ? reject(e) : resolve(r as R))),
    );
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
  }
}
