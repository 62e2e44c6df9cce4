// End to end in a real browser: a 3-node cluster of real processes (test/harness.ts), each with
// --http-listen and --metrics-listen, and the live view opened in headless Chromium (Debian's
// `chromium`, driven by playwright-core). Checks: metrics on every node, the WatchStatus stream over
// gRPC, and in the page exactly one leader, a put made from the page readable through gRPC, and a new
// leader shown after the leader is killed with SIGKILL. Screenshots go to dist-test/screenshots/; with
// RAFTKV_UPDATE_SCREENSHOTS=1 the README's docs/live-view*.png are replaced too.
import { sleep, waitFor } from '@raftkv/testkit';
import { Role, WatchEventKind, type WatchStatusResponse } from '@raftkv/proto';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pw from 'playwright-core';
import { SERVER_PKG, TestCluster } from './harness.js';

const SHOTS = join(SERVER_PKG, 'dist-test', 'screenshots');
const DOCS = join(SERVER_PKG, '..', '..', 'docs');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Debian's chromium, installed with apt-get when missing and possible (CI runs as root); else null and why. */
function ensureChromium(): { path: string | null; why: string } {
  if (existsSync(CHROMIUM)) return { path: CHROMIUM, why: '' };
  if (process.getuid?.() !== 0 || spawnSync('apt-get', ['--version']).status !== 0)
    return { path: null, why: `${CHROMIUM} is missing and apt-get is not usable here (install Debian's chromium)` };
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env, timeout: 300_000 });
  const r = spawnSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'ignore', env, timeout: 600_000 });
  return existsSync(CHROMIUM) ? { path: CHROMIUM, why: '' } : { path: null, why: `apt-get install chromium failed (exit ${r.status})` };
}

const chromium = ensureChromium();
if (chromium.path === null) console.warn(`SKIPPING the browser test: ${chromium.why}`);
const browserTest = chromium.path === null ? test.skip : test;

let cluster: TestCluster;
let browser: pw.Browser | null = null;
/** Each node's HTTP ports, from its "http listening" log line (the nodes bind port 0). */
const ports = new Map<string, { http: number; metrics: number }>();

function portsOf(id: string): { http: number; metrics: number } | undefined {
  for (const line of cluster.node(id).output) {
    if (!line.includes('"http listening"')) continue;
    const o = JSON.parse(line) as { httpPort: number; metricsPort: number };
    return { http: o.httpPort, metrics: o.metricsPort };
  }
  return undefined;
}

beforeAll(async () => {
  cluster = await TestCluster.start({ extraFlags: ['--http-listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0'] });
  for (const n of cluster.nodes) ports.set(n.id, await waitFor(`${n.id}'s http ports`, () => portsOf(n.id)));
  await cluster.waitForLeader();
});

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await cluster?.stop();
});

afterEach(() => {
  const s = expect.getState();
  if (s.assertionCalls !== s.numPassingAsserts)
    for (const n of cluster.nodes) console.log(`--- ${n.id} (last 30 lines)\n${n.output.slice(-30).join('\n')}`);
});

test('every node serves Prometheus metrics; exactly one reports the leader role', async () => {
  const texts = await Promise.all(
    cluster.nodes.map(async (n) => (await fetch(`http://127.0.0.1:${ports.get(n.id)!.metrics}/metrics`)).text()),
  );
  for (const t of texts) {
    for (const name of [
      'raftkv_term',
      'raftkv_commit_index',
      'raftkv_elections_won_total',
      'raftkv_storage_commit_duration_seconds_bucket',
      'process_cpu_seconds_total',
    ])
      expect(t).toContain(name);
  }
  const leaders = texts.filter((t) => t.includes('raftkv_role{role="leader"} 1'));
  expect(leaders).toHaveLength(1);
  expect(leaders[0]).toMatch(/raftkv_follower_match_index\{peer="n\d"\} \d+/);
  // The live view's port does not serve metrics when --metrics-listen differs.
  expect((await fetch(`http://127.0.0.1:${ports.get('n1')!.http}/metrics`)).status).toBe(404);
});

test('Admin.WatchStatus: the status at once, then sampled events (heartbeats from the leader), at the requested rate', async () => {
  const { leader } = await cluster.waitForLeader();
  const got: WatchStatusResponse[] = [];
  const call = cluster.adminClient(leader).watchStatus({ maxUpdatesPerSecond: 10, includeEvents: true, logTail: 4 });
  call.on('data', (m: WatchStatusResponse) => got.push(m));
  call.on('error', () => undefined);
  try {
    const first = await waitFor('the first message', () => got[0], 3000);
    expect(first.status).toMatchObject({ id: leader, role: Role.ROLE_LEADER, leaderId: leader });
    expect(first.detail!.followers.map((f) => f.id).sort()).toEqual(cluster.nodes.filter((n) => n.id !== leader).map((n) => n.id));
    expect(first.sinceLeaderContactMs).toBe(0);
    await waitFor(
      'heartbeat events',
      () =>
        got.some((m) => m.events.some((e) => e.kind === WatchEventKind.WATCH_EVENT_KIND_HEARTBEAT && e.from === leader)) ? true : undefined,
      5000,
    );
    const start = got.length;
    await sleep(1000);
    // At most the requested 10 updates a second (and an urgent role change or two).
    expect(got.length - start).toBeLessThanOrEqual(12);
  } finally {
    call.cancel();
  }
});

browserTest('the live view: one leader, a put from the page readable through gRPC, a new leader after SIGKILL', async () => {
  // launch() gives the browser a fresh, empty profile directory of its own (and removes it).
  browser = await pw.chromium.launch({ executablePath: chromium.path!, args: CHROMIUM_ARGS });
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // Conditions evaluated in the page (strings: this package's TypeScript has no DOM types).
  const inPage = (what: string, expr: string, timeout = 15_000) =>
    page
      .waitForFunction(expr, undefined, { timeout })
      .catch((e: Error) => Promise.reject(new Error(`the page never showed ${what}: ${e.message}`)));
  const leaderShown = (cond: string) =>
    `(() => { const s = document.querySelector('#summary'); return s.dataset.leaderCount === '1' && ${cond}; })()`;

  const { leader } = await cluster.waitForLeader();
  // Served by a follower, so the page outlives the leader.
  const server = cluster.nodes.find((n) => n.id !== leader)!.id;
  await page.goto(`http://127.0.0.1:${ports.get(server)!.http}/`);
  await inPage('three connected members', `document.querySelectorAll('#nodes [data-connected="true"]').length === 3`);
  await inPage(`one leader, ${leader}`, leaderShown(`s.dataset.leader === ${JSON.stringify(leader)}`));
  expect(await page.locator('#nodes [data-role="leader"]').count()).toBe(1);
  expect(await page.locator(`#nodes [data-node="${leader}"]`).getAttribute('data-role')).toBe('leader');

  // A few writes through gRPC so the logs have something to show, then one from the page.
  for (let i = 1; i <= 4; i++) await cluster.put(leader, `k${i}`, `v${i}`);
  await page.fill('#key', 'greeting');
  await page.fill('#value', 'hello from the browser');
  await page.click('#put');
  await inPage('the put committed', `/committed at index \\d+/.test(document.querySelector('#kv-result').textContent)`);
  for (const n of cluster.nodes) {
    const r = await cluster.read(n.id, 'greeting');
    expect(r.found).toBe(true);
    expect(r.value.toString()).toBe('hello from the browser');
  }
  await page.click('#get');
  await inPage('the value read back', `document.querySelector('#kv-result').textContent.includes('"hello from the browser"')`);
  await inPage(
    'committed entries in every log',
    `[...document.querySelectorAll('#logs .log')].filter((r) => r.querySelectorAll('.e.committed').length >= 6).length === 3`,
  );
  mkdirSync(SHOTS, { recursive: true });
  await sleep(300); // some messages in flight in the picture
  await page.screenshot({ path: join(SHOTS, 'live-view.png') });

  // Kill the leader: the page must show it unreachable, and a new leader.
  await cluster.stopNode(leader, 'SIGKILL');
  await inPage(`${leader} unreachable`, `document.querySelector('#nodes [data-node="${leader}"]').dataset.connected === 'false'`, 10_000);
  await inPage('a new leader', leaderShown(`s.dataset.leader !== '' && s.dataset.leader !== ${JSON.stringify(leader)}`), 20_000);
  const shown = await page.locator('#summary').getAttribute('data-leader');
  expect(shown).toBe((await cluster.waitForLeader()).leader);
  await sleep(500);
  await page.screenshot({ path: join(SHOTS, 'live-view-failover.png') });
  if (process.env['RAFTKV_UPDATE_SCREENSHOTS'] === '1') {
    mkdirSync(DOCS, { recursive: true });
    copyFileSync(join(SHOTS, 'live-view.png'), join(DOCS, 'live-view.png'));
    copyFileSync(join(SHOTS, 'live-view-failover.png'), join(DOCS, 'live-view-failover.png'));
  }
  expect(errors).toEqual([]);
});
