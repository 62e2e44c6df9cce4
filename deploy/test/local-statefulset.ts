// Runs a rendered StatefulSet as local node processes, the way the kubelet would run its pods: the same
// env (resolved from the manifest: fieldRefs, ConfigMap, $(VAR) expansion), pod-style ids, the image's
// entry point (the server package's bin, dist/main.js). Only what a pod gets from its surroundings is
// replaced: its own IP (a loopback port per pod, plus one for the peer and health ports when the
// manifest opens them), its PVC (a temp dir), its mounted Secrets (local dirs; the peer certificates
// Secret, unless given, made by make-certs.sh like the README says) and cluster DNS (--dial-overrides
// mapping raftkv-i.<peer domain>:<peer port> to the port peers dial).
import { freePort, removeDir, serverMain, serverPackageDir, spawnTracked, tempDir } from '@raftkv/testkit';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { configMapsOf, containerEnv, only, type K8sObject } from '../src/index.js';
import { deployDir } from './paths.js';

export const serverDir = serverPackageDir(import.meta.url);
export const serverBin = serverMain(import.meta.url);

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class LocalPod {
  proc: ChildProcess | undefined;
  private exited: Promise<Exit> | undefined;
  private log: WriteStream | undefined;

  constructor(
    readonly name: string,
    /** 127.0.0.1:<port>: this pod's IP and gRPC port stand-in. */
    readonly address: string,
    readonly env: Readonly<Record<string, string>>,
    readonly logPath: string,
    /** Where the kubelet's probes go: RAFTKV_HEALTH_LISTEN's stand-in if set, else the gRPC port. */
    readonly probeAddress: string = address,
  ) {}

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  start(): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    this.log ??= createWriteStream(this.logPath, { flags: 'a' });
    this.log.write(`--- start ${new Date().toISOString()}\n`);
    // A pod's environment is exactly its container env (plus PATH, which the image sets).
    // Tracked: killed if the test process exits before destroy().
    const proc = spawnTracked(process.execPath, [serverBin], {
      cwd: serverDir,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout?.pipe(this.log, { end: false });
    proc.stderr?.pipe(this.log, { end: false });
    this.exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
    this.proc = proc;
  }

  /** Sends `signal` and waits for the exit; SIGKILLs and reports a timeout after `graceMs`. */
  async stop(signal: NodeJS.Signals, graceMs: number): Promise<Exit & { ms: number; timedOut: boolean }> {
    const t0 = Date.now();
    if (!this.running || !this.exited) return { code: null, signal: null, ms: 0, timedOut: false };
    this.proc?.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.exited.then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), graceMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) this.proc?.kill('SIGKILL');
    const exit = await this.exited;
    return { ...exit, ms: Date.now() - t0, timedOut };
  }

  tail(lines = 30): string {
    try {
      return readFileSync(this.logPath, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  closeLog(): void {
    this.log?.end();
  }
}

export interface LocalStatefulSetOptions {
  namespace: string;
  /** Volume mount path -> local dir standing in for it (e.g. a Secret's files); env values under it are rewritten. */
  mounts?: Readonly<Record<string, string>>;
  /** Pods beyond spec.replicas to prepare (not started): what `kubectl scale` up would add. */
  spare?: number;
}

export class LocalStatefulSet {
  readonly pods: LocalPod[];
  readonly graceMs: number;

  private constructor(
    readonly dir: string,
    pods: LocalPod[],
    graceMs: number,
  ) {
    this.pods = pods;
    this.graceMs = graceMs;
  }

  /** One LocalPod per replica of the rendered StatefulSet `raftkv` (plus `spare` ones). */
  static async create(objects: readonly K8sObject[], opts: LocalStatefulSetOptions): Promise<LocalStatefulSet> {
    const sts = only<IStatefulSet>(objects, 'StatefulSet', 'raftkv');
    const name = sts.metadata?.name ?? 'raftkv';
    const replicas = (sts.spec?.replicas ?? 1) + (opts.spare ?? 0);
    const podSpec = sts.spec?.template.spec;
    const container = podSpec?.containers.find((c) => c.name === 'raftkv');
    if (!container) throw new Error('no raftkv container');
    const configMaps = configMapsOf(objects);
    const podName = (i: number) => `${name}-${i}`;
    const envOf = (i: number) =>
      containerEnv(container, { fields: { 'metadata.name': podName(i), 'metadata.namespace': opts.namespace }, configMaps });

    const dir = tempDir('raftkv-sts-');
    const mounts = { ...(opts.mounts ?? {}), ...peerCertificates(podSpec, container.volumeMounts ?? [], opts, dir, replicas) };
    const portsOf = async (): Promise<number[]> => {
      const ports: number[] = [];
      for (let i = 0; i < replicas; i++) ports.push(await freePort());
      return ports;
    };
    const ports = await portsOf();
    // A separate peer port (RAFTKV_PEER_LISTEN) and plaintext health port (RAFTKV_HEALTH_LISTEN) get
    // a loopback port of their own per pod.
    const peerPorts = envOf(0)['RAFTKV_PEER_LISTEN'] ? await portsOf() : ports;
    const healthPorts = envOf(0)['RAFTKV_HEALTH_LISTEN'] ? await portsOf() : null;
    // Cluster DNS stand-in: what each pod's peer name resolves to.
    const dialOverrides = peerPorts
      .map((port, i) => {
        const e = envOf(i);
        return `${podName(i)}.${e['RAFTKV_PEER_DOMAIN']}:${e['RAFTKV_PEER_PORT']}=127.0.0.1:${port}`;
      })
      .join(',');
    const mounted = (env: Record<string, string>): Record<string, string> => remount(env, mounts);
    const pods = ports.map((port, i) => {
      const address = `127.0.0.1:${port}`;
      const env = mounted({
        ...envOf(i),
        RAFTKV_LISTEN: address, // the pod's own IP
        RAFTKV_DATA_DIR: join(dir, podName(i)), // its PVC
        RAFTKV_DIAL_OVERRIDES: dialOverrides, // cluster DNS
        RAFTKV_METRICS_LISTEN: '127.0.0.1:0', // every pod has its own IP for port 9090; here they share one
        ...(peerPorts !== ports ? { RAFTKV_PEER_LISTEN: `127.0.0.1:${peerPorts[i]}` } : {}),
        ...(healthPorts ? { RAFTKV_HEALTH_LISTEN: `127.0.0.1:${healthPorts[i]}` } : {}),
      });
      const probe = healthPorts ? `127.0.0.1:${healthPorts[i]}` : address;
      return new LocalPod(podName(i), address, env, join(dir, `${podName(i)}.log`), probe);
    });
    return new LocalStatefulSet(dir, pods, (podSpec?.terminationGracePeriodSeconds ?? 30) * 1000);
  }

  async destroy(): Promise<void> {
    await Promise.all(this.pods.map((p) => p.stop('SIGKILL', 5_000)));
    for (const p of this.pods) p.closeLog();
    removeDir(this.dir);
  }
}

type PodSpec = NonNullable<NonNullable<IStatefulSet['spec']>['template']['spec']>;

/** The Secret raftkv-peer-tls the base mounts, made by make-certs.sh for every pod (unless the caller mounts it). */
function peerCertificates(
  podSpec: PodSpec | undefined,
  volumeMounts: readonly { name: string; mountPath: string }[],
  opts: LocalStatefulSetOptions,
  dir: string,
  pods: number,
): Record<string, string> {
  const volume = podSpec?.volumes?.find((v) => v.secret?.secretName === 'raftkv-peer-tls');
  const mount = volumeMounts.find((m) => m.name === volume?.name);
  if (mount === undefined || opts.mounts?.[mount.mountPath] !== undefined) return {};
  return { [mount.mountPath]: makeCertificates(opts.namespace, join(dir, 'certs'), pods).peerTls };
}

/** make-certs.sh, as the README runs it, into `out`; the node certificates also name 127.0.0.1 (peers are dialled there here). */
export function makeCertificates(namespace: string, out: string, pods: number): { peerTls: string; tls: string } {
  execFileSync('sh', [join(deployDir, 'k8s', 'components', 'tls', 'make-certs.sh'), namespace, out, '2', String(pods)], {
    env: { ...process.env, RAFTKV_EXTRA_SANS: 'IP:127.0.0.1' },
    stdio: 'ignore',
  });
  return { peerTls: join(out, 'peer-tls'), tls: join(out, 'tls') };
}

/** Rewrites env values under a mount path to the local dir standing in for it. */
export function remount(env: Record<string, string>, mounts: Readonly<Record<string, string>>): Record<string, string> {
  for (const [k, v] of Object.entries(env)) {
    for (const [mountPath, local] of Object.entries(mounts))
      if (v.startsWith(`${mountPath}/`)) env[k] = join(local, v.slice(mountPath.length + 1));
  }
  return env;
}
