// The live view's HTTP surface without a cluster: static files, input checks, feature gating, dev
// controls relayed to a stand-in of scripts/cluster.mjs's control server, and the SSE greeting.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseConfig } from '../../src/cli/config.js';
import { ClusterWatcher } from '../../src/http/cluster-watcher.js';
import { DevControls } from '../../src/http/dev-controls.js';
import { parseHostPort } from '../../src/grpc/address.js';
import { listenHttp, type HttpListener } from '../../src/http/listen.js';
import { LiveView } from '../../src/http/live-server.js';

let http: HttpListener;
let control: Server;
const calls: string[] = [];
let base = '';

beforeAll(async () => {
  // The cluster script's side: answers like scripts/dev-controls.mjs.
  control = createServer((req, res) => {
    calls.push(`${req.method} ${req.url}`);
    const conflict = req.url === '/nodes/n2/start';
    res.writeHead(conflict ? 409 : 200).end(conflict ? 'n2 is already running\n' : 'ok\n');
  });
  await new Promise<void>((r) => control.listen(0, '127.0.0.1', r));
  const controlPort = (control.address() as AddressInfo).port;
  // Members nobody answers for: the watcher reports them as not connected.
  const watcher = new ClusterWatcher({
    members: new Map([
      ['n1', '127.0.0.1:1'],
      ['n2', '127.0.0.1:2'],
    ]),
    dial: (a) => a,
    logTail: 4,
    updatesPerSecond: 20,
    idleStopMs: 100,
  });
  const view = new LiveView({
    self: 'n1',
    watcher,
    grpcAddress: '127.0.0.1:1',
    devControls: new DevControls({ host: '127.0.0.1', port: controlPort }),
  });
  http = await listenHttp({ host: '127.0.0.1', port: 0 }, (req, res) => {
    if (!view.handle(req, res)) res.writeHead(404).end();
  });
  base = `http://127.0.0.1:${http.port}`;
  const close = http.close;
  http = {
    ...http,
    close: async () => {
      view.close();
      watcher.close();
      await close();
    },
  };
});

afterAll(async () => {
  await http.close();
  await new Promise((r) => control.close(r));
});

const post = (path: string, body: unknown, type = 'application/json') =>
  fetch(base + path, { method: 'POST', headers: { 'content-type': type }, body: JSON.stringify(body) });

test('serves the page and its assets, nothing outside the web root', async () => {
  const page = await fetch(base + '/');
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toContain('text/html');
  expect(await page.text()).toContain('<svg id="cluster"');
  expect((await fetch(base + '/app.js')).headers.get('content-type')).toContain('javascript');
  expect((await fetch(base + '/style.css')).status).toBe(200);
  expect((await fetch(base + '/..%2Fpackage.json')).status).toBe(404);
  expect((await fetch(base + '/missing.js')).status).toBe(404);
});

test('info lists the members and which actions exist', async () => {
  const info = (await (await fetch(base + '/api/info')).json()) as {
    self: string;
    members: { id: string }[];
    features: Record<string, boolean>;
  };
  expect(info.self).toBe('n1');
  expect(info.members.map((m) => m.id)).toEqual(['n1', 'n2']);
  expect(info.features).toEqual({ transfer: false, devControls: true });
});

test('writes need JSON bodies with the right fields', async () => {
  expect((await post('/api/put', { key: 'a', value: 'b' }, 'text/plain')).status).toBe(415);
  const bad = await post('/api/put', { key: 'a' });
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { error: string }).error).toContain('"value"');
  expect((await post('/api/transfer', { to: 'n2' })).status).toBe(404); // no TransferLeadership offered
  expect((await fetch(base + '/api/nope')).status).toBe(404);
});

test('dev controls are relayed to the cluster script, its refusals passed on', async () => {
  expect((await post('/api/dev/stop', { id: 'n2' })).status).toBe(200);
  const refused = await post('/api/dev/start', { id: 'n2' });
  expect(refused.status).toBe(409);
  expect(((await refused.json()) as { error: string }).error).toBe('n2 is already running');
  expect((await post('/api/dev/stop', {})).status).toBe(400);
  expect(calls).toEqual(['POST /nodes/n2/stop', 'POST /nodes/n2/start']);
});

test('the event stream greets, then gives every member as currently known', async () => {
  const ac = new AbortController();
  const res = await fetch(base + '/api/events', { signal: ac.signal });
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  const reader = res.body!.getReader();
  let text = '';
  while ((text.match(/event: node/g) ?? []).length < 2) text += new TextDecoder().decode((await reader.read()).value);
  ac.abort();
  expect(text.startsWith('event: hello\ndata: {"self":"n1"')).toBe(true);
  const nodes = text
    .split('\n\n')
    .filter((b) => b.startsWith('event: node'))
    .map((b) => JSON.parse(b.slice(b.indexOf('data: ') + 6)) as { id: string; connected: boolean });
  expect(nodes.slice(0, 2).map((n) => [n.id, n.connected])).toEqual([
    ['n1', false],
    ['n2', false],
  ]);
});

test('the flags: off by default, HOST:PORT checked, dev controls on loopback only', () => {
  const base = ['--id', 'n1', '--peers', 'n1=127.0.0.1:7001', '--data-dir', '/tmp/x'];
  expect(parseConfig(base, {})).toMatchObject({ httpListen: null, metricsListen: null, devControls: null });
  expect(parseConfig([...base, '--http-listen', '127.0.0.1:8001'], { RAFTKV_METRICS_LISTEN: '0.0.0.0:9090' })).toMatchObject({
    httpListen: { host: '127.0.0.1', port: 8001 },
    metricsListen: { host: '0.0.0.0', port: 9090 },
  });
  expect(() => parseConfig([...base, '--metrics-listen', '9090'], {})).toThrow(/--metrics-listen/);
  expect(() => parseConfig([...base, '--dev-controls', '10.1.2.3:9000'], {})).toThrow(/--dev-controls.*loopback/);
});

test('HOST:PORT parsing and the loopback rule for dev controls', () => {
  expect(parseHostPort('127.0.0.1:8001')).toEqual({ host: '127.0.0.1', port: 8001 });
  expect(parseHostPort('[::1]:0')).toEqual({ host: '::1', port: 0 });
  expect(parseHostPort('localhost')).toBeNull();
  expect(parseHostPort('a:70000')).toBeNull();
  expect(DevControls.isLoopback('127.0.0.2')).toBe(true);
  expect(DevControls.isLoopback('10.0.0.1')).toBe(false);
});
