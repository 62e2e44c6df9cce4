// The live view (--http-listen): the static page from packages/server/web, a Server-Sent Events feed
// of every member's WatchStatus stream, and small JSON endpoints that go through the node's own gRPC
// API (put, get, leadership transfer) or, in a dev cluster, to the cluster script's controls.
// Writes require Content-Type: application/json, so another site's page cannot post to it silently.
// Who may open it: live-guard.ts. Its calls act as the viewer, never as the node: they carry the
// viewer's etcd token (HTTP Basic credentials, authenticated on this node) and disclaim the identity of
// the node's own client certificate; moving leadership needs the viewer to hold etcd's root role.
import { Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { etcdserverpb, KVClient, ReadConsistency, type ProposeRequest, type ProposeResponse, type ReadResponse } from '@raftkv/proto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterWatcher } from './cluster-watcher.js';
import type { DevControls } from './dev-controls.js';
import { HttpError, readJson, sendJson } from './listen.js';
import { ownClientPortCredentials } from '../grpc/tls.js';
import { unary } from '../grpc/unary.js';
import { NO_CERT_IDENTITY_HEADER } from '../api/auth-gate.js';
import { TOKEN_HEADER } from '../api/router.js';
import { basicCredentials, guardLiveView } from './live-guard.js';

/** packages/server/web, from dist/http/ (built) or src/http/ (tests). */
export const WEB_ROOT = fileURLToPath(new URL('../../web', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** SSE bytes a browser may leave unread before it is disconnected (its EventSource reconnects). */
const MAX_SSE_BACKLOG = 1 << 20;
const CALL_TIMEOUT_MS = 5000;
const MAX_BODY = 2 << 20;

export interface LiveViewOptions {
  readonly self: string;
  readonly watcher: ClusterWatcher;
  /** This node's gRPC address, dialled for put/get. */
  readonly grpcAddress: string;
  /** Admin.TransferLeadership, when the node offers it; `token`: the viewer's (the leader checks it too). */
  readonly transfer?: ((to: string, deadlineMs: number, token: string | null) => Promise<void>) | undefined;
  /** Throws (a gRPC-coded error) unless the viewer holding `token` may move leadership (etcd's root, when auth is on). */
  readonly requireRoot?: ((token: string | null) => void) | undefined;
  /** --http-token-file's token (null: loopback only). */
  readonly token?: string | null | undefined;
  readonly devControls?: DevControls | undefined;
  readonly webRoot?: string;
}

function httpStatusOf(e: unknown): { code: number; body: { error: string; code: string } } {
  if (e instanceof HttpError)
    return {
      code: e.status,
      body: {
        error: e.message,
        code: e.status === 409 ? 'CONFLICT' : e.status === 404 ? 'NOT_FOUND' : e.status < 500 ? 'BAD_REQUEST' : 'UNAVAILABLE',
      },
    };
  const se = e as Partial<ServiceError>;
  if (typeof se.code === 'number') {
    const name = GrpcStatus[se.code] ?? 'UNKNOWN';
    if (needsCredentials(se)) return { code: 401, body: { error: se.details ?? name, code: name } };
    const http =
      se.code === GrpcStatus.PERMISSION_DENIED
        ? 403
        : se.code === GrpcStatus.INVALID_ARGUMENT
          ? 400
          : se.code === GrpcStatus.UNAVAILABLE
            ? 503
            : se.code === GrpcStatus.DEADLINE_EXCEEDED
              ? 504
              : se.code === GrpcStatus.UNIMPLEMENTED
                ? 501
                : 500;
    return { code: http, body: { error: se.details || se.message || name, code: name } };
  }
  return { code: 500, body: { error: (e as Error).message ?? String(e), code: 'INTERNAL' } };
}

/** etcd auth is on and the viewer gave no (valid) user: the browser should ask for one. */
const needsCredentials = (se: Partial<ServiceError>): boolean =>
  se.code === GrpcStatus.UNAUTHENTICATED ||
  (se.code === GrpcStatus.INVALID_ARGUMENT && /user name is empty|authentication failed/.test(se.details ?? ''));

export class LiveView {
  private readonly kv: KVClient;
  private readonly auth: etcdserverpb.AuthClient;
  private readonly sse = new Set<ServerResponse>();
  private readonly webRoot: string;

  constructor(private readonly o: LiveViewOptions) {
    this.kv = new KVClient(o.grpcAddress, ownClientPortCredentials());
    this.auth = new etcdserverpb.AuthClient(o.grpcAddress, ownClientPortCredentials());
    this.webRoot = o.webRoot ?? WEB_ROOT;
  }

  close(): void {
    for (const res of this.sse) res.destroy();
    this.sse.clear();
    this.kv.close();
    this.auth.close();
  }

  /** The viewer's identity for the node: its etcd token (from HTTP Basic credentials), never the node's certificate. */
  private async viewer(req: IncomingMessage): Promise<{ md: Metadata; token: string | null }> {
    const md = new Metadata();
    md.set(NO_CERT_IDENTITY_HEADER, '1');
    const c = basicCredentials(req);
    if (c === null) return { md, token: null };
    const r = await unary<etcdserverpb.AuthenticateResponse>(
      (m, opts, cb) => this.auth.authenticate({ name: c.user, password: c.password }, m, opts, cb),
      CALL_TIMEOUT_MS,
    );
    md.set(TOKEN_HEADER, r.token);
    return { md, token: r.token };
  }

  /** Routes one request; false if the path is not the live view's. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const refused = guardLiveView(req, url, res, this.o.token ?? null);
    if (refused !== null) {
      res.writeHead(refused.status, { 'content-type': 'text/plain' }).end(`${refused.message}\n`);
      return true;
    }
    if (path.startsWith('/api/')) {
      this.api(path, url, req, res).catch((e: unknown) => {
        const { code, body } = httpStatusOf(e);
        if (code === 401) res.setHeader('www-authenticate', 'Basic realm="raftkv", charset="UTF-8"');
        if (!res.headersSent) sendJson(res, code, body);
        else res.end();
      });
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const file = path === '/' ? 'index.html' : path.slice(1);
    if (!/^[A-Za-z0-9_-]+\.(html|js|css|svg|png)$/.test(file)) return false;
    void this.serveFile(file, res);
    return true;
  }

  private async serveFile(file: string, res: ServerResponse): Promise<void> {
    const full = normalize(join(this.webRoot, file));
    try {
      const body = await readFile(full);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
      res.end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  }

  private async api(path: string, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const route = `${req.method ?? 'GET'} ${path}`;
    switch (route) {
      case 'GET /api/info':
        return sendJson(res, 200, {
          self: this.o.self,
          members: this.o.watcher.memberList(),
          features: { transfer: this.o.transfer !== undefined, devControls: this.o.devControls !== undefined },
        });
      case 'GET /api/events':
        return this.events(req, res);
      case 'POST /api/put': {
        const body = await readJson(req, MAX_BODY);
        const key = body['key'];
        const value = body['value'];
        if (typeof key !== 'string' || typeof value !== 'string') throw new HttpError(400, 'need {"key": string, "value": string}');
        const command: ProposeRequest['command'] = { $case: 'put', put: { key, value: Buffer.from(value, 'utf8') } };
        const put: ProposeRequest = { command, clientId: '', sequence: 0 };
        const { md: as } = await this.viewer(req);
        const r = await unary<ProposeResponse>((md, opts, cb) => this.kv.propose(put, md, opts, cb), {
          deadline: Date.now() + CALL_TIMEOUT_MS,
          metadata: as,
        });
        return sendJson(res, 200, { index: r.index, term: r.term, leaderId: r.leaderId, previousFound: r.previousFound });
      }
      case 'GET /api/get': {
        const key = url.searchParams.get('key') ?? '';
        const stale = url.searchParams.get('consistency') === 'stale';
        const consistency = stale ? ReadConsistency.READ_CONSISTENCY_STALE : ReadConsistency.READ_CONSISTENCY_LINEARIZABLE;
        const { md: as } = await this.viewer(req);
        const r = await unary<ReadResponse>((md, opts, cb) => this.kv.read({ key, consistency }, md, opts, cb), {
          deadline: Date.now() + CALL_TIMEOUT_MS,
          metadata: as,
        });
        return sendJson(res, 200, {
          found: r.found,
          value: r.value.toString('utf8'),
          valueBase64: r.value.toString('base64'),
          index: r.index,
          leaderId: r.leaderId,
        });
      }
      case 'POST /api/transfer': {
        if (this.o.transfer === undefined) throw new HttpError(404, 'this node offers no leadership transfer');
        const body = await readJson(req, 4096);
        const to = body['to'];
        if (typeof to !== 'string') throw new HttpError(400, 'need {"to": member id}');
        const { token } = await this.viewer(req);
        this.o.requireRoot?.(token);
        await this.o.transfer(to, Date.now() + CALL_TIMEOUT_MS, token);
        return sendJson(res, 200, { ok: true });
      }
      case 'POST /api/dev/stop':
      case 'POST /api/dev/start': {
        const dev = this.o.devControls;
        if (dev === undefined) throw new HttpError(404, 'dev controls are off (start the cluster with npm start)');
        const body = await readJson(req, 4096);
        const id = body['id'];
        if (typeof id !== 'string') throw new HttpError(400, 'need {"id": member id}');
        await dev.request(path.endsWith('stop') ? 'stop' : 'start', id);
        return sendJson(res, 200, { ok: true });
      }
      default:
        throw new HttpError(404, `no route ${route}`);
    }
  }

  /** Server-Sent Events: `hello`, then every member's latest picture, then live `node` updates. */
  private events(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    this.sse.add(res);
    const send = (event: string, json: string): void => {
      if (res.destroyed) return;
      if (res.writableLength > MAX_SSE_BACKLOG) {
        // The browser is not reading: cut it loose rather than buffer without bound.
        res.destroy();
        return;
      }
      res.write(`event: ${event}\ndata: ${json}\n\n`);
    };
    send(
      'hello',
      JSON.stringify({
        self: this.o.self,
        members: this.o.watcher.memberList(),
        features: { transfer: this.o.transfer !== undefined, devControls: this.o.devControls !== undefined },
      }),
    );
    for (const line of this.o.watcher.snapshot()) send('node', line);
    const unlisten = this.o.watcher.listen((json) => send('node', json));
    const ping = setInterval(() => send('ping', String(Date.now())), 15000);
    ping.unref();
    const done = (): void => {
      clearInterval(ping);
      unlisten();
      this.sse.delete(res);
    };
    req.on('close', done);
    res.on('close', done);
  }
}
