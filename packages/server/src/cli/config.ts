// The server's configuration from its flags (flags.ts: the contract shared with deploy/, scripts/ and
// tests). Every flag can also come from the environment as RAFTKV_<FLAG_IN_UPPER_SNAKE>, or from the
// YAML file --config-file (config-file.ts); flags win over the environment, which wins over the file.
// Errors name the flag (or the file's key).
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { DevControls } from '../http/dev-controls.js';
import { parseHostPort, type HostPort } from '../grpc/address.js';
import { LOG_LEVELS, type LogLevel } from '../observability/logger.js';
import { readClientTls, readPeerTls, type ClientTls, type PeerTls } from '../grpc/tls.js';
import { envName, FLAG_DEFAULTS, SERVER_FLAG_OPTIONS, type ServerFlag } from './flags.js';
import { parseFlags } from './parse-flags.js';
import { peerAuthProblem } from './peer-auth-config.js';
import { readPeerSecret } from '../peer/peer-secret.js';
import { goDurationMs, parseAutoCompaction, type AutoCompaction } from '../node/auto-compaction.js';
import { readConfigFile } from './config-file.js';

export { SERVER_FLAGS as FLAGS, USAGE } from './flags.js';

export interface ServerConfig {
  readonly id: string;
  readonly listen: string;
  readonly advertise: string;
  /** Every voter (this node included): id -> address peers dial. */
  readonly peers: ReadonlyMap<string, string>;
  readonly dataDir: string;
  readonly clusterId: string;
  readonly electionTimeoutMinMs: number;
  readonly electionTimeoutMaxMs: number;
  readonly heartbeatMs: number;
  readonly logLevel: LogLevel;
  /** When dialing address A, dial B instead (tests standing in for cluster DNS). */
  readonly dialOverrides: ReadonlyMap<string, string>;
  /** --http-listen: the live web view (off when null). */
  readonly httpListen: HostPort | null;
  /** --http-token-file: the token the live view requires (null: none, and it must bind to loopback). */
  readonly httpToken: string | null;
  /** --auth-token-ttl (etcd's, in seconds), in ms: how long an etcd auth token is valid. */
  readonly authTokenTtlMs: number;
  /** --metrics-listen: Prometheus /metrics (off when null). */
  readonly metricsListen: HostPort | null;
  /** --dev-controls: the dev cluster script's stop/start endpoint (loopback only; off when null). */
  readonly devControls: HostPort | null;
  /** --tls-cert/--tls-key/--tls-ca/--tls-client-auth: TLS on the client port (off when null). */
  readonly tls: ClientTls | null;
  /** --peer-listen: a port of its own for node-to-node traffic (Raft is then not served on --listen). */
  readonly peerListen: string | null;
  /** --peer-tls-cert/--peer-tls-key/--peer-tls-ca: mutual TLS on the peer port (off when null). */
  readonly peerTls: PeerTls | null;
  /** --health-listen: plaintext grpc.health.v1 only, for probes that cannot speak TLS (off when null). */
  readonly healthListen: string | null;
  /** --join: endpoints of a running cluster to ask to add this node (instead of --peers); null: not joining. */
  readonly join: readonly string[] | null;
  /**
   * --snapshot-entries / --snapshot-bytes: snapshot once the log applied since the last snapshot holds
   * this many entries or this many bytes, whichever comes first. --snapshot-catchup-entries: the log
   * tail kept behind a snapshot for followers a little behind (also at most --snapshot-bytes).
   */
  readonly snapshotEntries: number;
  readonly snapshotBytes: number;
  readonly snapshotCatchupEntries: number;
  /** --snapshot-chunk-delay-ms: test knob, a pause before each chunk of a snapshot sent (0: none). */
  readonly snapshotChunkDelayMs: number;
  /** --peer-secret-file: the shared cluster secret every peer stream proves (null: none). */
  readonly peerSecret: Buffer | null;
  /** --insecure-peers: the operator accepts unauthenticated peers on a non-loopback address. */
  readonly insecurePeers: boolean;
  /** --max-request-bytes: an etcd write whose log entry is larger is refused ("etcdserver: request is too large"). */
  readonly maxRequestBytes: number;
  /** --max-range-bytes: a Range answer larger than this fails with RESOURCE_EXHAUSTED (use limit). */
  readonly maxRangeBytes: number;
  /** etcd's --experimental-watch-progress-notify-interval, in ms. */
  readonly watchProgressNotifyMs: number;
  /** --quota-backend-bytes: etcd's storage quota (NOSPACE alarm past it). */
  readonly quotaBackendBytes: number;
  /** --max-pending-bytes: proposal bytes a leader holds unanswered before refusing ("too many requests"). */
  readonly maxPendingBytes: number;
  /** --max-concurrent-streams: gRPC streams per client connection. */
  readonly maxConcurrentStreams: number;
  /** --max-watchers-per-stream: watchers one etcd Watch stream may hold; further creates are refused. */
  readonly maxWatchersPerStream: number;
  /** --auto-compaction-mode / --auto-compaction-retention (etcd's flags; default periodic 5m). */
  readonly autoCompaction: AutoCompaction;
  /**
   * --force-new-cluster (etcd's flag): after a permanent loss of quorum, this surviving member becomes a
   * one-member cluster keeping what it had committed (storage/force-new-cluster.ts); once per data dir.
   */
  readonly forceNewCluster: boolean;
}

type Flag = ServerFlag;

const BYTE_SUFFIX = { Ki: 1 << 10, Mi: 1 << 20, Gi: 1 << 30 } as const;

const portOf = (hostPort: string): string => hostPort.slice(hostPort.lastIndexOf(':') + 1);

/**
 * Parses argv (without node and script), env and the --config-file; throws ConfigError naming the
 * offending flag, or the file and its key when the value came from the file.
 */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const { values } = parseFlags(argv, SERVER_FLAG_OPTIONS, { fail: (flag, reason) => new ConfigError(flag, reason) });
  const given = new Map<Flag, string>();
  for (const [f, v] of Object.entries(values) as [Flag, string | boolean | undefined][]) if (v !== undefined) given.set(f, String(v));
  const fromEnv = (f: Flag): string | undefined => (env[envName(f)] === '' ? undefined : env[envName(f)]);
  const filePath = given.get('config-file') ?? fromEnv('config-file');
  const file = filePath === undefined ? new Map<Flag, string>() : readConfigFile(filePath);
  try {
    return configFrom((f) => {
      const v = given.get(f) ?? fromEnv(f) ?? file.get(f);
      return v === undefined || v === '' ? undefined : v;
    });
  } catch (e) {
    // A bad value the file gave: say where it is.
    const flag = e instanceof ConfigError ? e.flag.replace(/^--/, '') : '';
    if (!(e instanceof ConfigError) || !file.has(flag as Flag) || given.has(flag as Flag) || fromEnv(flag as Flag) !== undefined) throw e;
    throw new ConfigError(`--config-file ${filePath}: key ${flag}`, e.message.slice(e.flag.length + 2), { cause: e });
  }
}

/** The log level the configuration names now (SIGHUP: the file may have changed); throws ConfigError. */
export function currentLogLevel(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): LogLevel {
  return parseConfig(argv, env).logLevel;
}

function configFrom(get: (f: Flag) => string | undefined): ServerConfig {
  const need = (f: Flag): string => {
    const v = get(f);
    if (v === undefined) throw new ConfigError(`--${f}`, `is required (or set ${envName(f)})`);
    return v;
  };
  const int = (f: Flag, dflt: number, min = 1): number => {
    const v = get(f);
    if (v === undefined) return dflt;
    if (!/^\d+$/.test(v) || Number(v) < min || !Number.isSafeInteger(Number(v))) {
      throw new ConfigError(`--${f}`, `must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    }
    return Number(v);
  };
  /** A positive byte count: digits, optionally with a binary suffix (64Mi = 64 * 2^20). */
  const byteCount = (f: Flag, dflt: number): number => {
    const v = get(f);
    if (v === undefined) return dflt;
    const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(v);
    const n = m ? Number(m[1]) * (m[2] === undefined ? 1 : BYTE_SUFFIX[m[2] as keyof typeof BYTE_SUFFIX]) : NaN;
    if (!Number.isSafeInteger(n) || n < 1)
      throw new ConfigError(`--${f}`, `must be a byte count >= 1 (e.g. 67108864 or 64Mi), got ${JSON.stringify(v)}`);
    return n;
  };
  const bool = (f: Flag): boolean => {
    const v = get(f)?.toLowerCase();
    if (v === undefined || v === 'false' || v === '0') return false;
    if (v === 'true' || v === '1') return true;
    throw new ConfigError(`--${f}`, `must be true or false, got ${JSON.stringify(v)}`);
  };
  const address = (f: string, v: string): string => {
    if (parseHostPort(v, 1) === null) throw new ConfigError(f, `${JSON.stringify(v)} is not HOST:PORT`);
    return v;
  };

  const peerListen = get('peer-listen') === undefined ? null : address('--peer-listen', get('peer-listen')!);
  // Peers dial the peer port: in StatefulSet mode it defaults to --peer-listen's.
  const defaultPeerPort = peerListen === null ? FLAG_DEFAULTS['peer-port'] : Number(portOf(peerListen));

  const id = need('id');
  const peers = new Map<string, string>();
  const replicasRaw = get('replicas');
  const joinRaw = get('join');
  let join: string[] | null = null;
  if (joinRaw !== undefined) {
    if (get('peers') !== undefined || replicasRaw !== undefined)
      throw new ConfigError('--join', 'cannot be combined with --peers or --replicas');
    join = joinRaw.split(',').map((e) => address('--join', e.trim()));
    const self = get('advertise') ?? get('listen');
    if (self === undefined) throw new ConfigError('--advertise', 'is required with --join (the address the members dial)');
    peers.set(id, address('--advertise', self));
  } else if (get('peers') !== undefined) {
    if (replicasRaw !== undefined) throw new ConfigError('--replicas', 'cannot be combined with --peers');
    for (const part of need('peers').split(',')) {
      const eq = part.indexOf('=');
      if (eq <= 0) throw new ConfigError('--peers', `${JSON.stringify(part)} is not ID=HOST:PORT`);
      const pid = part.slice(0, eq).trim();
      if (peers.has(pid)) throw new ConfigError('--peers', `lists ${pid} twice`);
      peers.set(pid, address('--peers', part.slice(eq + 1).trim()));
    }
  } else if (replicasRaw !== undefined) {
    const replicas = int('replicas', 3);
    const domain = need('peer-domain');
    const port = int('peer-port', defaultPeerPort);
    if (port > 65535) throw new ConfigError('--peer-port', `must be <= 65535, got ${port}`);
    const m = /^(.+)-(\d+)$/.exec(id);
    if (!m) throw new ConfigError('--id', `must be <name>-<ordinal> (the pod name) with --replicas, got ${JSON.stringify(id)}`);
    const ordinal = Number(m[2]);
    const dns = (i: number): string => `${m[1]}-${i}.${domain}:${port}`;
    if (ordinal < replicas) for (let i = 0; i < replicas; i++) peers.set(`${m[1]}-${i}`, dns(i));
    else {
      // A pod the StatefulSet got when scaled up beyond the bootstrap size: it asks the pods below it
      // to add it (--join) instead of bootstrapping a membership the cluster never agreed to.
      join = Array.from({ length: ordinal }, (_, i) => dns(i));
      peers.set(id, dns(ordinal));
    }
  } else {
    throw new ConfigError('--peers', 'is required (or --replicas with --peer-domain)');
  }
  const own = peers.get(id);
  if (own === undefined) throw new ConfigError('--peers', `does not include this node's id ${JSON.stringify(id)}`);

  const listenRaw = get('listen');
  if (listenRaw === undefined && peerListen !== null) throw new ConfigError('--listen', 'is required with --peer-listen (the client port)');
  const listen =
    listenRaw !== undefined
      ? address('--listen', listenRaw)
      : replicasRaw !== undefined
        ? `0.0.0.0:${int('peer-port', FLAG_DEFAULTS['peer-port'])}`
        : own;
  if (peerListen !== null && portOf(peerListen) === portOf(listen))
    throw new ConfigError('--peer-listen', `must be another port than --listen ${listen}`);
  const advertiseRaw = get('advertise');
  const advertise = advertiseRaw !== undefined ? address('--advertise', advertiseRaw) : own;

  const dialOverrides = new Map<string, string>();
  const dialRaw = get('dial-overrides');
  if (dialRaw !== undefined) {
    for (const part of dialRaw.split(',')) {
      const [a, b, ...rest] = part.split('=');
      if (a === undefined || b === undefined || rest.length > 0)
        throw new ConfigError('--dial-overrides', `${JSON.stringify(part)} is not ADDR=ADDR`);
      dialOverrides.set(address('--dial-overrides', a.trim()), address('--dial-overrides', b.trim()));
    }
  }

  const electionTimeoutMinMs = int('election-timeout-min-ms', FLAG_DEFAULTS['election-timeout-min-ms']);
  const electionTimeoutMaxMs = int('election-timeout-max-ms', Math.max(300, electionTimeoutMinMs * 2));
  const heartbeatMs = int('heartbeat-ms', Math.min(50, Math.floor(electionTimeoutMinMs / 3)));
  if (electionTimeoutMaxMs <= electionTimeoutMinMs) {
    throw new ConfigError(
      '--election-timeout-max-ms',
      `must exceed --election-timeout-min-ms (${electionTimeoutMinMs}), got ${electionTimeoutMaxMs}`,
    );
  }
  if (heartbeatMs * 2 > electionTimeoutMinMs) {
    throw new ConfigError(
      '--heartbeat-ms',
      `must be at most half of --election-timeout-min-ms (${electionTimeoutMinMs}), got ${heartbeatMs}`,
    );
  }
  const logLevel = (get('log-level') ?? FLAG_DEFAULTS['log-level']) as LogLevel;
  if (!LOG_LEVELS.includes(logLevel))
    throw new ConfigError('--log-level', `must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`);
  const clusterId = get('cluster-id') ?? FLAG_DEFAULTS['cluster-id'];
  const snapshotEntries = int('snapshot-entries', FLAG_DEFAULTS['snapshot-entries']);
  const snapshotBytes = byteCount('snapshot-bytes', FLAG_DEFAULTS['snapshot-bytes']);
  const snapshotChunkDelayMs = int('snapshot-chunk-delay-ms', FLAG_DEFAULTS['snapshot-chunk-delay-ms'], 0);
  // The receiver gives up on a sender that goes quiet for 30 s (snapshot-transfer.ts).
  if (snapshotChunkDelayMs > 10_000)
    throw new ConfigError('--snapshot-chunk-delay-ms', `must be at most 10000, got ${snapshotChunkDelayMs}`);
  const hostPort = (f: Flag): HostPort | null => {
    const v = get(f);
    if (v === undefined) return null;
    const hp = parseHostPort(v);
    if (hp === null) throw new ConfigError(`--${f}`, `${JSON.stringify(v)} is not HOST:PORT`);
    return hp;
  };
  const devControls = hostPort('dev-controls');
  if (devControls !== null && !DevControls.isLoopback(devControls.host))
    throw new ConfigError('--dev-controls', `must be a loopback address, got ${devControls.host}`);

  const peerTls = readPeerTls((f) => get(f as Flag));
  // One port can present one certificate: peers authenticated by their own CA need a port of theirs.
  if (peerTls !== null && peerListen === null)
    throw new ConfigError('--peer-listen', 'is required with --peer-tls-cert (peer mutual TLS is served on a port of its own)');
  const secretFile = get('peer-secret-file');
  const peerSecret = secretFile === undefined ? null : readPeerSecret(secretFile);
  const insecurePeers = bool('insecure-peers');
  const forceNewCluster = bool('force-new-cluster');

  const config: ServerConfig = {
    id,
    listen,
    advertise,
    peers,
    dataDir: need('data-dir'),
    clusterId,
    electionTimeoutMinMs,
    electionTimeoutMaxMs,
    heartbeatMs,
    logLevel,
    dialOverrides,
    httpListen: hostPort('http-listen'),
    metricsListen: hostPort('metrics-listen'),
    devControls,
    tls: readClientTls((f) => get(f as Flag), bool('tls-client-auth')),
    peerListen,
    peerTls,
    join,
    snapshotEntries,
    snapshotBytes,
    snapshotChunkDelayMs,
    peerSecret,
    insecurePeers,
    forceNewCluster,
    snapshotCatchupEntries: int('snapshot-catchup-entries', Math.min(5000, snapshotEntries), 0),
    healthListen: get('health-listen') === undefined ? null : address('--health-listen', get('health-listen')!),
    maxRequestBytes: byteCount('max-request-bytes', FLAG_DEFAULTS['max-request-bytes']),
    maxRangeBytes: byteCount('max-range-bytes', FLAG_DEFAULTS['max-range-bytes']),
    quotaBackendBytes: byteCount('quota-backend-bytes', FLAG_DEFAULTS['quota-backend-bytes']),
    maxPendingBytes: byteCount('max-pending-bytes', FLAG_DEFAULTS['max-pending-bytes']),
    maxConcurrentStreams: int('max-concurrent-streams', FLAG_DEFAULTS['max-concurrent-streams'], 1),
    maxWatchersPerStream: int('max-watchers-per-stream', FLAG_DEFAULTS['max-watchers-per-stream'], 1),
    autoCompaction: parseAutoCompaction(get('auto-compaction-mode'), get('auto-compaction-retention')),
    watchProgressNotifyMs: watchProgressMs(get('experimental-watch-progress-notify-interval')),
    httpToken: liveViewToken(get('http-token-file'), hostPort('http-listen')),
    authTokenTtlMs: int('auth-token-ttl', FLAG_DEFAULTS['auth-token-ttl'], 1) * 1000,
  };
  // Last, so that a mistake in any other flag is reported first.
  const problem = peerAuthProblem({ id, raftListen: peerListen ?? listen, peerTls, peerSecret, insecurePeers });
  if (problem !== null) throw problem;
  return config;
}

function watchProgressMs(v: string | undefined): number {
  const s = v ?? FLAG_DEFAULTS['experimental-watch-progress-notify-interval'];
  const ms = goDurationMs(s.trim());
  if (ms === null || ms < 1) {
    throw new ConfigError(
      '--experimental-watch-progress-notify-interval',
      `must be a positive duration (10m, 5s, 500ms), got ${JSON.stringify(s)}`,
    );
  }
  return ms;
}

/**
 * The live view's token (--http-token-file, trailing whitespace dropped; at least 16 bytes). Without
 * one the live view serves loopback only: it can write keys and move leadership.
 */
function liveViewToken(file: string | undefined, listen: HostPort | null): string | null {
  if (file === undefined) {
    if (listen !== null && !DevControls.isLoopback(listen.host))
      throw new ConfigError(
        '--http-listen',
        `${listen.host} is not a loopback address: give --http-token-file to serve the live view there`,
      );
    return null;
  }
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trimEnd();
  } catch (e) {
    throw new ConfigError('--http-token-file', `cannot read ${JSON.stringify(file)}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, {
      cause: e,
    });
  }
  if (token.length < 16 || !/^[\x21-\x7e]+$/.test(token))
    throw new ConfigError('--http-token-file', 'the token must be at least 16 printable ASCII characters without spaces');
  return token;
}
