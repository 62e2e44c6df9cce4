// preStop hook of a raftkv pod (components/scale-down): when the StatefulSet has shrunk below this pod's
// ordinal, remove this pod's member from the cluster before it exits, so the rest stop counting it for
// their quorum. A pod that is merely restarted, rolled or evicted (ordinal < spec.replicas) does nothing.
// Plain Node (the image has no curl); no dependencies. Exit 0: nothing to do or removed; 1: failed
// (Kubernetes records a FailedPreStopHook event and the member stays: remove it by hand, runbook).
//
// Environment (the pod's own, plus optional overrides a test or an overlay may set):
//   RAFTKV_ID         the pod name raftkv-<ordinal> = the member id
//   POD_NAMESPACE     the namespace of the StatefulSet
//   SCALE_DOWN_STATEFULSET  its name (default raftkv)
//   KUBE_API          API server URL (default https://kubernetes.default.svc)
//   SCALE_DOWN_SA_DIR directory with the projected token and ca.crt (default /var/run/secrets/raftkv-scale-down)
//   RAFTCTL           command prefix (default: node /app/dist/cli/raftctl.js)
//   RAFTCTL_ENDPOINTS members to ask (default raftkv:7001, the client Service: the other Ready members)
//   RAFTKV_TLS_CA / RAFTKV_TLS_CLIENT_AUTH / RAFTKV_TLS_CERT / RAFTKV_TLS_KEY  the server's TLS env, reused
//   SCALE_DOWN_USER / SCALE_DOWN_PASSWORD   with etcd auth enabled: a root user (membership changes need
//                     root); set them from a Secret in your overlay. The password goes to raftctl's stdin.
//   SCALE_DOWN_TIMEOUT_MS   give up after this long (default 50000; keep it under the grace period)
//   RAFTKV_DATA_DIR   where the marker removed-by-scale-down goes once the member is removed: the init
//                     container (wipe-removed.sh) then empties the volume if the pod ever starts again,
//                     since a removed member's old data must not come back under its id
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';

const env = process.env;
const log = (msg, fields = {}) =>
  console.log(JSON.stringify({ level: 'info', component: 'scale-down', node: env.RAFTKV_ID, message: msg, ...fields }));
const fail = (msg, fields = {}) => {
  console.error(JSON.stringify({ level: 'error', component: 'scale-down', node: env.RAFTKV_ID, message: msg, ...fields }));
  process.exit(1);
};

const id = env.RAFTKV_ID ?? '';
const m = /-(\d+)$/.exec(id);
if (!m) fail(`RAFTKV_ID must end in -<ordinal>, got ${JSON.stringify(id)}`);
const ordinal = Number(m[1]);
const namespace = env.POD_NAMESPACE ?? '';
if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace)) fail(`POD_NAMESPACE is not a namespace: ${JSON.stringify(namespace)}`);
const name = env.SCALE_DOWN_STATEFULSET || 'raftkv';
const api = new URL(env.KUBE_API || 'https://kubernetes.default.svc');
const saDir = env.SCALE_DOWN_SA_DIR || '/var/run/secrets/raftkv-scale-down';
const timeoutMs = Number(env.SCALE_DOWN_TIMEOUT_MS || 50_000);
if (!(timeoutMs > 0)) fail(`SCALE_DOWN_TIMEOUT_MS must be a positive number, got ${JSON.stringify(env.SCALE_DOWN_TIMEOUT_MS)}`);
const deadline = Date.now() + timeoutMs;

/** GET the StatefulSet; resolves {status, body}. The token is re-read each time (the kubelet rotates it). */
function getStatefulSet() {
  const token = readFileSync(`${saDir}/token`, 'utf8').trim();
  const https = api.protocol === 'https:';
  const path = `/apis/apps/v1/namespaces/${namespace}/statefulsets/${encodeURIComponent(name)}`;
  const options = {
    method: 'GET',
    headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    timeout: 10_000,
    ...(https ? { ca: readFileSync(`${saDir}/ca.crt`) } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)(new URL(path, api), options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('API request timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** Runs raftctl with the server's own TLS settings; resolves {code, output}. */
function raftctl(args) {
  const [cmd, ...prefix] = (env.RAFTCTL || 'node /app/dist/cli/raftctl.js').split(/\s+/).filter(Boolean);
  const flags = [];
  if (env.RAFTKV_TLS_CA) flags.push('--tls-ca', env.RAFTKV_TLS_CA);
  if (env.RAFTKV_TLS_CLIENT_AUTH === 'true') flags.push('--tls-cert', env.RAFTKV_TLS_CERT ?? '', '--tls-key', env.RAFTKV_TLS_KEY ?? '');
  if (env.SCALE_DOWN_USER) flags.push('--user', env.SCALE_DOWN_USER);
  const endpoints = env.RAFTCTL_ENDPOINTS || 'raftkv:7001';
  const left = Math.max(1_000, deadline - Date.now());
  return new Promise((resolve) => {
    const child = spawn(cmd, [...prefix, '--endpoints', endpoints, '--timeout', String(Math.min(left, 20_000)), ...flags, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin.on('error', () => {}); // a raftctl that exits without reading its stdin
    child.stdin.end(env.SCALE_DOWN_USER ? `${env.SCALE_DOWN_PASSWORD ?? ''}\n` : '');
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), left);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: -1, output: String(e) });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, output: output.trim() });
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let sts;
try {
  const r = await getStatefulSet();
  // Gone (the whole set is being deleted): that is not a scale-down, keep the membership.
  if (r.status === 404) {
    log(`statefulset ${name} not found: not a scale-down, nothing to do`);
    process.exit(0);
  }
  if (r.status !== 200) fail(`reading statefulset ${namespace}/${name} failed: HTTP ${r.status}`, { body: r.body.slice(0, 500) });
  sts = JSON.parse(r.body);
} catch (e) {
  fail(`reading statefulset ${namespace}/${name} failed: ${e instanceof Error ? e.message : String(e)}`);
}
if (sts.metadata?.deletionTimestamp) {
  log(`statefulset ${name} is being deleted: not a scale-down, nothing to do`);
  process.exit(0);
}
const replicas = sts.spec?.replicas ?? 1; // the API's default when unset
if (!Number.isInteger(replicas) || replicas < 0) fail(`statefulset ${name} has no valid spec.replicas: ${JSON.stringify(replicas)}`);
// Zero replicas is a pause (`kubectl scale --replicas=0`, e.g. for maintenance), not a shrink: removing
// every member would leave nothing to scale back up to.
if (replicas === 0) {
  log('replicas 0: a pause, the member stays');
  process.exit(0);
}
if (ordinal < replicas) {
  log(`ordinal ${ordinal} < replicas ${replicas}: a restart, the member stays`);
  process.exit(0);
}
// Scaled below this pod: remove it. The leader refuses a removal that would leave no quorum, and a
// leader removing itself hands leadership over first (the server). A refusal (another change in
// flight: with podManagementPolicy Parallel several pods leave at once) is retried until the deadline.
log(`ordinal ${ordinal} >= replicas ${replicas}: removing member ${id}`);
for (let attempt = 1; ; attempt++) {
  const r = await raftctl(['v1', 'member', 'remove', id]);
  if (r.code === 0) {
    log(`member ${id} removed`, { attempt, output: r.output });
    const marker = `${env.RAFTKV_DATA_DIR || '/var/lib/raftkv'}/removed-by-scale-down`;
    try {
      writeFileSync(marker, `${id} removed from the cluster by the scale-down hook; this data must not be used again\n`);
    } catch (e) {
      fail(`member ${id} removed, but writing ${marker} failed: delete this pod's PVC before scaling up again`, { error: String(e) });
    }
    process.exit(0);
  }
  if (Date.now() + 1_000 >= deadline)
    fail(`removing member ${id} failed; remove it by hand (raftctl member remove ${id})`, { attempt, output: r.output });
  log(`removing member ${id} failed, retrying`, { attempt, code: r.code, output: r.output });
  await sleep(Math.min(2_000, deadline - Date.now()));
}
