// Who may open the live view: loopback Host names only without a token, same-origin requests only,
// the token (URL once, then its cookie) when one is configured; the flags that decide it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeDir, tempDir } from '@raftkv/testkit';
import { parseConfig } from '../../src/cli/config.js';
import { ClusterWatcher } from '../../src/http/cluster-watcher.js';
import { listenHttp, type HttpListener } from '../../src/http/listen.js';
import { LiveView } from '../../src/http/live-server.js';
import { request } from 'node:http';

const TOKEN = 'live-view-token-0123456789';

/** A raw GET (fetch forbids setting Host), answering status, set-cookie and body. */
function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; cookie: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, cookie: String(res.headers['set-cookie'] ?? ''), body: Buffer.concat(chunks).toString() }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the live view guard', () => {
  const servers: HttpListener[] = [];
  const watchers: ClusterWatcher[] = [];
  const views: LiveView[] = [];
  const start = async (token: string | null): Promise<number> => {
    const watcher = new ClusterWatcher({ members: new Map(), dial: (a) => a, logTail: 1, updatesPerSecond: 1, idleStopMs: 100 });
    const view = new LiveView({ self: 'n1', watcher, grpcAddress: '127.0.0.1:1', token });
    const l = await listenHttp({ host: '127.0.0.1', port: 0 }, (req, res) => {
      if (!view.handle(req, res)) res.writeHead(404).end();
    });
    servers.push(l);
    watchers.push(watcher);
    views.push(view);
    return l.port;
  };
  afterAll(async () => {
    for (const v of views) v.close();
    for (const w of watchers) w.close();
    await Promise.all(servers.map((s) => s.close()));
  });

  test('without a token: loopback Host names only, and no other origin', async () => {
    const port = await start(null);
    expect((await get(port, '/api/info', { host: `127.0.0.1:${port}` })).status).toBe(200);
    expect((await get(port, '/api/info', { host: `localhost:${port}` })).status).toBe(200);
    // A DNS-rebinding page reaches the port under its own name.
    expect((await get(port, '/api/info', { host: `evil.example:${port}` })).status).toBe(403);
    expect((await get(port, '/', { host: `127.0.0.1:${port}`, origin: 'http://evil.example' })).status).toBe(403);
    expect((await get(port, '/api/info', { host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}` })).status).toBe(200);
  });

  test('with a token: the URL token sets a cookie; without either, 401', async () => {
    const port = await start(TOKEN);
    const host = { host: `view.example:${port}` };
    expect((await get(port, '/api/info', host)).status).toBe(401);
    expect((await get(port, '/api/info?token=wrong-token-wrong-token', host)).status).toBe(401);
    const first = await get(port, `/?token=${TOKEN}`, host);
    expect(first.status).toBe(200);
    expect(first.cookie).toContain('HttpOnly');
    expect(first.cookie).toContain('SameSite=Strict');
    const cookie = first.cookie.split(';')[0]!;
    expect((await get(port, '/api/info', { ...host, cookie })).status).toBe(200);
    expect((await get(port, '/api/info', { ...host, cookie: 'raftkv_live=nope' })).status).toBe(401);
  });

  test('flags: a non-loopback --http-listen needs --http-token-file; --auth-token-ttl in seconds', () => {
    const base = ['--id', 'n1', '--peers', 'n1=127.0.0.1:7001', '--data-dir', '/tmp/x'];
    expect(() => parseConfig([...base, '--http-listen', '0.0.0.0:8001'], {})).toThrow(/--http-listen.*--http-token-file/);
    const dir = tempDir();
    try {
      const file = join(dir, 'token');
      writeFileSync(file, `${TOKEN}\n`);
      expect(parseConfig([...base, '--http-listen', '0.0.0.0:8001', '--http-token-file', file], {}).httpToken).toBe(TOKEN);
      writeFileSync(file, 'short');
      expect(() => parseConfig([...base, '--http-token-file', file], {})).toThrow(/--http-token-file/);
    } finally {
      removeDir(dir);
    }
    expect(parseConfig(base, {}).authTokenTtlMs).toBe(300_000);
    expect(parseConfig([...base, '--auth-token-ttl', '60'], {}).authTokenTtlMs).toBe(60_000);
  });
});
