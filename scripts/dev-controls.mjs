// Dev-cluster controls for the live view's stop/start buttons: a tiny HTTP server on loopback that
// scripts/cluster.mjs runs and passes to its nodes as --dev-controls HOST:PORT. A node's live view
// relays a button press here (POST /nodes/<id>/stop or /start); this process owns the node processes.
import { createServer } from 'node:http';

/**
 * @param {{ stop(id: string): Promise<void>, start(id: string): void, has(id: string): boolean, running(id: string): boolean }} nodes
 * @returns {Promise<{ address: string, close(): void }>}
 */
export async function serveDevControls(nodes) {
  const server = createServer((req, res) => {
    const m = /^\/nodes\/([^/]+)\/(stop|start)$/.exec(req.url ?? '');
    const reply = (code, text) => res.writeHead(code, { 'content-type': 'text/plain' }).end(text + '\n');
    if (req.method !== 'POST' || !m) return reply(404, 'POST /nodes/<id>/stop or /nodes/<id>/start');
    const id = decodeURIComponent(m[1]);
    if (!nodes.has(id)) return reply(404, `no node ${id}`);
    if (m[2] === 'start') {
      if (nodes.running(id)) return reply(409, `${id} is already running`);
      nodes.start(id);
      return reply(200, `${id} started`);
    }
    if (!nodes.running(id)) return reply(409, `${id} is not running`);
    nodes.stop(id).then(
      () => reply(200, `${id} stopped`),
      (e) => reply(500, String(e)),
    );
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  server.unref();
  return { address: `127.0.0.1:${server.address().port}`, close: () => server.close() };
}
