#!/usr/bin/env node
// Runs a local raftkv cluster in the foreground (what `npm start` runs after the build): nodes
// n1..nN on 127.0.0.1:7001.., data in ./data/<id>, each node's JSON log lines shown compactly with a
// coloured [id] prefix. Ctrl-C (or SIGTERM) stops every node cleanly.
// Each node also serves the live view and /metrics on 127.0.0.1:8001.. (--http-base-port, or
// --no-live-view), with stop/start buttons backed by scripts/dev-controls.mjs.
//   node scripts/cluster.mjs [--nodes 3] [--base-port 7001] [--http-base-port 8001] [--no-live-view]
//                            [--data-dir ./data] [--raw] [-- extra node flags]
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { serveDevControls } from './dev-controls.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const extra = dash >= 0 ? argv.slice(dash + 1) : [];
const opts = dash >= 0 ? argv.slice(0, dash) : argv;
const opt = (name, dflt) => {
  const i = opts.indexOf(`--${name}`);
  return i >= 0 && opts[i + 1] !== undefined ? opts[i + 1] : dflt;
};
const n = Number(opt('nodes', '3'));
const basePort = Number(opt('base-port', '7001'));
const dataDir = resolve(opt('data-dir', join(root, 'data')));
const raw = opts.includes('--raw');
const httpBase = Number(opt('http-base-port', '8001'));
const liveView = !opts.includes('--no-live-view');
const main = join(root, 'packages', 'server', 'dist', 'main.js');
if (!existsSync(main)) {
  console.error(`cluster: ${main} is missing; build first (npm run build)`);
  process.exit(2);
}
if (!(n >= 1 && n <= 9)) {
  console.error('cluster: --nodes must be 1..9');
  process.exit(2);
}

const ids = Array.from({ length: n }, (_, i) => `n${i + 1}`);
const addr = (i) => `127.0.0.1:${basePort + i}`;
const peers = ids.map((id, i) => `${id}=${addr(i)}`).join(',');
const tty = process.stdout.isTTY;
const colours = [36, 33, 35, 32, 34, 31, 96, 93, 95];
const paint = (c, s) => (tty ? `\x1b[${c}m${s}\x1b[0m` : s);
const LEVEL = { error: 31, warn: 33, info: 0, debug: 90 };

/** One JSON log line as `time level role/term message {rest}`. */
function pretty(line) {
  let o;
  try {
    o = JSON.parse(line);
  } catch {
    return line;
  }
  const { timestamp, level, message, node, term, role, ...rest } = o;
  void node;
  const time = typeof timestamp === 'string' ? timestamp.slice(11, 23) : '';
  const more = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
  return `${time} ${paint(LEVEL[level] ?? 0, (level ?? '').padEnd(5))} ${role}/t${term} ${message}${more}`;
}

process.stdout.on('error', () => {}); // a closed pipe (e.g. | head) is not our problem
const children = new Map();
/** Nodes stopped from the live view: their exit does not end the cluster. */
const devStopped = new Set();
let stopping = false;
mkdirSync(dataDir, { recursive: true });
const dev = liveView
  ? await serveDevControls({
      has: (id) => ids.includes(id),
      running: (id) => children.has(id),
      start: (id) => {
        devStopped.delete(id);
        startNode(id, ids.indexOf(id));
      },
      stop: (id) =>
        new Promise((resolve) => {
          const c = children.get(id);
          devStopped.add(id);
          c.once('exit', () => resolve());
          c.kill('SIGTERM');
          setTimeout(() => c.kill('SIGKILL'), 5000).unref();
        }),
    })
  : null;
const viewFlags = (i) =>
  dev ? ['--http-listen', `127.0.0.1:${httpBase + i}`, '--metrics-listen', `127.0.0.1:${httpBase + i}`, '--dev-controls', dev.address] : [];

function startNode(id, i) {
  const child = spawn(
    process.execPath,
    [main, '--id', id, '--listen', addr(i), '--peers', peers, '--data-dir', join(dataDir, id), ...viewFlags(i), ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.set(id, child);
  const prefix = paint(colours[i % colours.length], `[${id}]`);
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (l) => process.stdout.write(`${prefix} ${raw ? l : pretty(l)}\n`));
  }
  child.on('exit', (code, signal) => {
    if (children.get(id) === child) children.delete(id);
    process.stdout.write(`${prefix} exited (${signal ?? `code ${code}`})\n`);
    if (children.size === 0 && (stopping || devStopped.size === 0)) process.exit(stopping ? 0 : 1);
  });
}
ids.forEach((id, i) => startNode(id, i));
console.log(`cluster: ${n} nodes, ${ids.map((id, i) => `${id}=${addr(i)}`).join(' ')}, data in ${dataDir}; Ctrl-C stops`);
if (dev) console.log(`cluster: live view and /metrics at ${ids.map((_, i) => `http://127.0.0.1:${httpBase + i}/`).join(' ')}`);

function stop() {
  if (stopping) return;
  stopping = true;
  if (children.size === 0) process.exit(0);
  for (const c of children.values()) c.kill('SIGTERM');
  // Nodes that do not stop within 5 s are killed.
  setTimeout(() => {
    for (const c of children.values()) c.kill('SIGKILL');
  }, 5000).unref();
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
