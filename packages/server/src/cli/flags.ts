// The server's flags as data: their names, the environment variable each one reads, the defaults that
// stand alone, the usage text. No imports and no side effects, so deploy/ and tools read the flag
// contract without loading the server (@raftkv/server/flags); config.ts turns the values into a
// ServerConfig.

/** Every flag the server accepts; each also reads env RAFTKV_<FLAG_IN_UPPER_SNAKE>. */
export const SERVER_FLAGS = [
  'id',
  'listen',
  'advertise',
  'peers',
  'data-dir',
  'cluster-id',
  'election-timeout-min-ms',
  'election-timeout-max-ms',
  'heartbeat-ms',
  'log-level',
  'replicas',
  'peer-domain',
  'peer-port',
  'dial-overrides',
  'http-listen',
  'metrics-listen',
  'dev-controls',
  'tls-cert',
  'tls-key',
  'tls-ca',
  'tls-client-auth',
  'peer-listen',
  'peer-tls-cert',
  'peer-tls-key',
  'peer-tls-ca',
  'health-listen',
  'join',
  'snapshot-entries',
  'snapshot-catchup-entries',
  'snapshot-bytes',
  'snapshot-chunk-delay-ms',
  'peer-secret-file',
  'insecure-peers',
  'max-request-bytes',
  'max-range-bytes',
  'auto-compaction-mode',
  'auto-compaction-retention',
  'config-file',
  'force-new-cluster',
  'experimental-watch-progress-notify-interval',
  'http-token-file',
  'auth-token-ttl',
  'quota-backend-bytes',
  'max-pending-bytes',
  'max-concurrent-streams',
  'max-watchers-per-stream',
] as const;
export type ServerFlag = (typeof SERVER_FLAGS)[number];

/** Flags that take no value (`--tls-client-auth`, or `--tls-client-auth=false`; env true/false). */
export const BOOLEAN_FLAGS: readonly ServerFlag[] = ['tls-client-auth', 'insecure-peers', 'force-new-cluster'];

/** `data-dir` → `RAFTKV_DATA_DIR`. */
export function envName(flag: ServerFlag): string {
  return `RAFTKV_${flag.toUpperCase().replace(/-/g, '_')}`;
}

const MIB = 1 << 20;

/**
 * Defaults that do not depend on other flags. The rest are derived in config.ts: the election timeout
 * max (max(300, 2 x min)), the heartbeat (min(50, min / 3)), the catch-up tail (min(5000,
 * snapshot-entries)), --listen and the peer port (from --peers, --peer-listen or --replicas).
 */
export const FLAG_DEFAULTS = {
  'cluster-id': 'raftkv',
  'election-timeout-min-ms': 150,
  'log-level': 'info',
  'peer-port': 7001,
  'snapshot-entries': 10_000,
  'snapshot-bytes': 64 * MIB,
  'snapshot-chunk-delay-ms': 0,
  // etcd's default --max-request-bytes (1.5 MiB).
  'max-request-bytes': 1_572_864,
  // A Range answer held on the node at once: past it the call fails and asks for pages (limit).
  'max-range-bytes': 32 * MIB,
  // etcd's flags; raftkv's default is periodic 5m (etcd's is off), what the Kubernetes API server asks for.
  'auto-compaction-mode': 'periodic',
  'auto-compaction-retention': '5m',
  // etcd's: how often a watch with progress_notify is told the revision when it got no event.
  'experimental-watch-progress-notify-interval': '10m',
  // etcd's --auth-token-ttl (seconds): how long an Authenticate token is valid.
  'auth-token-ttl': 300,
  // etcd's default storage quota (2 GiB): past it writes fail and a NOSPACE alarm is raised.
  'quota-backend-bytes': 2048 * MIB,
  // Proposals (and their bytes) the leader holds unanswered before "etcdserver: too many requests".
  'max-pending-bytes': 128 * MIB,
  // Concurrent gRPC streams one client connection may open (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS).
  'max-concurrent-streams': 1024,
  // Watchers one Watch stream may hold; a create beyond it is refused (created and canceled at once).
  'max-watchers-per-stream': 10_000,
} as const satisfies Partial<Record<ServerFlag, string | number>>;

/** The flags as node:util parseArgs options (see parse-flags.ts). */
export const SERVER_FLAG_OPTIONS = Object.fromEntries(
  SERVER_FLAGS.map((f) => [f, { type: BOOLEAN_FLAGS.includes(f) ? 'boolean' : 'string' }] as const),
) as Record<ServerFlag, { readonly type: 'string' | 'boolean' }>;

export const USAGE = `usage: raftkv --id ID --peers ID=HOST:PORT,... --data-dir DIR [--listen HOST:PORT]
       raftkv --id ID --join HOST:PORT,... --advertise HOST:PORT --data-dir DIR
       raftkv --id NAME-ORDINAL --replicas N --peer-domain DOMAIN [--peer-port 7001] --data-dir DIR
         (N: the bootstrap size; a pod with ordinal >= N joins through the pods below it)
options: ${SERVER_FLAGS.map((f) => `--${f}`).join(' ')}
every flag also reads RAFTKV_<FLAG> from the environment (e.g. RAFTKV_DATA_DIR); flags win
--config-file FILE: YAML, the flag names as keys (flags > environment > file); SIGHUP re-reads its log-level
raftkv --version: the release, schema and peer protocol versions`;
