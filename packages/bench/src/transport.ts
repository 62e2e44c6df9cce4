// How the generator sends a unary gRPC call. Two implementations of one interface:
// - grpc-js: the real client library users run (Client.makeUnaryRequest on one channel each);
// - h2: a minimal gRPC-over-HTTP/2 client on node:http2 (one session each, same serializers), which
//   costs about half the CPU per call of grpc-js here. On a 2-core machine the generator competes
//   with the clusters for CPU, so a lighter generator shows more of what the clusters can do.
import { connect, constants, type ClientHttp2Session } from 'node:http2';
import { Client, credentials, Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import type { ClientKind } from './kinds.js';
import { channelOptions, deadlineIn } from './target.js';

export type { ClientKind } from './kinds.js';

/** A unary method: full path and the message codecs (as in a grpc-js service definition). */
export interface UnaryMethod<Req, Res> {
  path: string;
  requestSerialize: (req: Req) => Buffer;
  responseDeserialize: (bytes: Buffer) => Res;
}

/** A set of channels (connections); call(i, ...) uses channel i modulo their number. */
export interface Channels {
  call<Req, Res>(channel: number, method: UnaryMethod<Req, Res>, request: Req): Promise<Res>;
  close(): void;
}

/** A gRPC status error, shaped like grpc-js's ServiceError (code, details, message). */
export class GrpcStatusError extends Error {
  override readonly name = 'GrpcStatusError';
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(`${code} ${Status[code] ?? ''}: ${details}`);
  }
}

class GrpcJsChannels implements Channels {
  private readonly clients: Client[];
  constructor(
    endpoints: readonly string[],
    count: number,
    private readonly timeoutMs: number,
  ) {
    this.clients = Array.from(
      { length: count },
      (_, i) => new Client(endpoints[i % endpoints.length] ?? '', credentials.createInsecure(), channelOptions(i)),
    );
  }

  call<Req, Res>(channel: number, m: UnaryMethod<Req, Res>, request: Req): Promise<Res> {
    const client = this.clients[channel % this.clients.length];
    if (client === undefined) return Promise.reject(new Error('no channels'));
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        request,
        new Metadata(),
        { deadline: deadlineIn(this.timeoutMs) },
        (err: ServiceError | null, res?: Res) => (err || res === undefined ? reject(err ?? new Error('no response')) : resolve(res)),
      );
    });
  }

  close(): void {
    for (const c of this.clients) c.close();
  }
}

interface Pending {
  deadline: number;
  fail: (err: Error) => void;
}

class H2Channels implements Channels {
  private readonly sessions: (ClientHttp2Session | undefined)[];
  private readonly pending = new Set<Pending>();
  /** One sweep for all deadlines instead of a timer per call. */
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly endpoints: readonly string[],
    count: number,
    private readonly timeoutMs: number,
  ) {
    this.sessions = new Array<ClientHttp2Session | undefined>(count).fill(undefined);
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const p of this.pending) {
        if (p.deadline <= now) p.fail(new GrpcStatusError(Status.DEADLINE_EXCEEDED, 'deadline exceeded (bench)'));
      }
    }, 50);
    this.sweeper.unref();
  }

  private session(i: number): ClientHttp2Session {
    const s = this.sessions[i];
    if (s !== undefined && !s.closed && !s.destroyed) return s;
    const fresh = connect(`http://${this.endpoints[i % this.endpoints.length] ?? ''}`);
    fresh.on('error', () => {}); // surfaced to the streams that fail with it
    fresh.once('close', () => {
      if (this.sessions[i] === fresh) this.sessions[i] = undefined;
    });
    this.sessions[i] = fresh;
    return fresh;
  }

  call<Req, Res>(channel: number, m: UnaryMethod<Req, Res>, request: Req): Promise<Res> {
    const msg = m.requestSerialize(request);
    const frame = Buffer.allocUnsafe(5 + msg.length);
    frame.writeUInt8(0, 0);
    frame.writeUInt32BE(msg.length, 1);
    msg.copy(frame, 5);
    return new Promise<Res>((resolve, reject) => {
      let stream: ReturnType<ClientHttp2Session['request']>;
      const chunks: Buffer[] = [];
      let grpcStatus: string | undefined;
      let grpcMessage = '';
      let settled = false;
      const pend: Pending = {
        deadline: Date.now() + this.timeoutMs,
        fail: (err) => {
          if (settled) return;
          settled = true;
          this.pending.delete(pend);
          stream?.close(constants.NGHTTP2_CANCEL);
          reject(err);
        },
      };
      try {
        stream = this.session(channel % this.sessions.length).request({
          ':method': 'POST',
          ':path': m.path,
          'content-type': 'application/grpc',
          te: 'trailers',
          'grpc-timeout': `${this.timeoutMs}m`,
        });
      } catch (err) {
        reject(err instanceof Error ? new GrpcStatusError(Status.UNAVAILABLE, err.message) : err);
        return;
      }
      this.pending.add(pend);
      const takeStatus = (h: Record<string, unknown>): void => {
        if (h['grpc-status'] !== undefined) grpcStatus = String(h['grpc-status']);
        if (h['grpc-message'] !== undefined) grpcMessage = decodeURIComponent(String(h['grpc-message']));
      };
      stream.on('response', takeStatus);
      stream.on('trailers', takeStatus);
      stream.on('data', (d: Buffer) => chunks.push(d));
      stream.on('error', (err: Error) => pend.fail(new GrpcStatusError(Status.UNAVAILABLE, err.message)));
      stream.on('close', () => {
        if (settled) return;
        if (grpcStatus !== '0') {
          const code = grpcStatus === undefined ? Status.UNAVAILABLE : Number(grpcStatus);
          pend.fail(new GrpcStatusError(code, grpcMessage || `stream closed (rst ${stream.rstCode})`));
          return;
        }
        settled = true;
        this.pending.delete(pend);
        const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
        if (body.length < 5) {
          reject(new GrpcStatusError(Status.INTERNAL, 'response without a message'));
          return;
        }
        try {
          resolve(m.responseDeserialize(body.subarray(5, 5 + body.readUInt32BE(1))));
        } catch (err) {
          reject(new GrpcStatusError(Status.INTERNAL, `bad response: ${String(err)}`));
        }
      });
      stream.end(frame);
    });
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const p of this.pending) p.fail(new GrpcStatusError(Status.CANCELLED, 'closed'));
    for (const s of this.sessions) s?.close();
  }
}

export function openChannels(kind: ClientKind, endpoints: readonly string[], count: number, timeoutMs: number): Channels {
  return kind === 'h2' ? new H2Channels(endpoints, count, timeoutMs) : new GrpcJsChannels(endpoints, count, timeoutMs);
}
