// The server's flag contract, taken from the server's side-effect-free flags module: every flag
// --kebab-name is also read from env RAFTKV_KEBAB_NAME, flags winning. The manifests may only set
// names from this list.
import { envName, SERVER_FLAGS, type ServerFlag } from '@raftkv/server/flags';

export { envName, SERVER_FLAGS, type ServerFlag };

export const SERVER_ENV_NAMES: ReadonlySet<string> = new Set(SERVER_FLAGS.map(envName));

/** Flags that tune a node without changing who it is: the only ones the tuning ConfigMap may carry. */
export const TUNING_FLAGS: readonly ServerFlag[] = [
  'election-timeout-min-ms',
  'election-timeout-max-ms',
  'heartbeat-ms',
  'cluster-id',
  'log-level',
];
