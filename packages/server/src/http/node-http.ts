// Starts a node's HTTP endpoints: --metrics-listen (GET /metrics) and --http-listen (the live view).
// Given the same address, one server answers both.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RaftMetrics } from '../observability/metrics.js';
import { ClusterWatcher } from './cluster-watcher.js';
import { DevControls } from './dev-controls.js';
import type { HostPort } from '../grpc/address.js';
import { listenHttp, type HttpListener } from './listen.js';
import { LiveView } from './live-server.js';
import { serveMetrics } from './metrics-server.js';

export interface NodeHttpOptions {
  readonly self: string;
  readonly httpListen: HostPort | null;
  readonly metricsListen: HostPort | null;
  readonly devControls: HostPort | null;
  readonly metrics: RaftMetrics | null;
  /** Every member: id -> address as configured. */
  readonly peers: ReadonlyMap<string, string>;
  /** Maps a configured address to the one to dial (--dial-overrides). */
  readonly dial: (address: string) => string;
  /** Where this node's own gRPC server answers. */
  readonly grpcAddress: string;
  readonly transfer?: ((to: string, deadlineMs: number, token: string | null) => Promise<void>) | undefined;
  /** Throws unless the viewer holding this etcd token may move leadership (live-server.ts). */
  readonly requireRoot?: ((token: string | null) => void) | undefined;
  /** --http-token-file's token (null: loopback only). */
  readonly httpToken?: string | null;
}

export interface NodeHttp {
  readonly httpPort: number | null;
  readonly metricsPort: number | null;
  close(): Promise<void>;
}

const sameAddress = (a: HostPort | null, b: HostPort | null): boolean =>
  a !== null && b !== null && a.host === b.host && a.port === b.port && a.port !== 0;

export async function startNodeHttp(o: NodeHttpOptions): Promise<NodeHttp> {
  const listeners: HttpListener[] = [];
  let live: LiveView | null = null;
  let watcher: ClusterWatcher | null = null;
  const close = async (): Promise<void> => {
    live?.close();
    watcher?.close();
    await Promise.all(listeners.map((l) => l.close()));
  };
  const notFound = (res: ServerResponse): void => {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  };
  try {
    if (o.httpListen !== null) {
      const dial = new Map([...o.peers].map(([id, addr]) => [id, o.dial(addr)]));
      watcher = new ClusterWatcher({ members: dial, dial: o.dial, logTail: 16, updatesPerSecond: 20, idleStopMs: 5000 });
      live = new LiveView({
        self: o.self,
        watcher,
        grpcAddress: o.grpcAddress,
        transfer: o.transfer,
        requireRoot: o.requireRoot,
        token: o.httpToken ?? null,
        devControls: o.devControls === null ? undefined : new DevControls(o.devControls),
      });
    }
    const metrics = o.metricsListen !== null ? o.metrics : null;
    const both = sameAddress(o.httpListen, o.metricsListen);
    let httpPort: number | null = null;
    let metricsPort: number | null = null;
    if (live !== null && o.httpListen !== null) {
      const view = live;
      const serveBoth = both && metrics !== null ? metrics : null;
      const l = await listenHttp(o.httpListen, (req: IncomingMessage, res: ServerResponse) => {
        if (serveBoth !== null && serveMetrics(serveBoth, req, res)) return;
        if (!view.handle(req, res)) notFound(res);
      });
      listeners.push(l);
      httpPort = l.port;
      if (both) metricsPort = l.port;
    }
    if (metrics !== null && o.metricsListen !== null && !both) {
      const l = await listenHttp(o.metricsListen, (req, res) => {
        if (!serveMetrics(metrics, req, res)) notFound(res);
      });
      listeners.push(l);
      metricsPort = l.port;
    }
    return { httpPort, metricsPort, close };
  } catch (e) {
    await close();
    throw e;
  }
}
