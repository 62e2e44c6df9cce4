// GET /metrics in the Prometheus text format (for --metrics-listen).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RaftMetrics } from '../observability/metrics.js';

/** Answers /metrics; returns false for any other path so a shared server can route it elsewhere. */
export function serveMetrics(metrics: RaftMetrics, req: IncomingMessage, res: ServerResponse): boolean {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/metrics') return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET' }).end();
    return true;
  }
  metrics.exposition().then(
    (text) => {
      res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : text);
    },
    (e: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${(e as Error).message}\n`);
    },
  );
  return true;
}
