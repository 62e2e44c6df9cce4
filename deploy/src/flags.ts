// The server's flag contract, taken from the server itself: every flag --kebab-name is also read from
// env RAFTKV_KEBAB_NAME, flags winning. The manifests may only set names from this list.

import { SERVER_FLAGS } from '@raftkv/server';

export { SERVER_FLAGS };

export type ServerFlag = (typeof SERVER_FLAGS)[number];

/** `data-dir` → `RAFTKV_DATA_DIR`. */
export function envName(flag: ServerFlag): string {
  return 'RAFTKV_' + flag.toUpperCase().replaceAll('-', '_');
}

export const SERVER_ENV_NAMES: ReadonlySet<string> = new Set(SERVER_FLAGS.map(envName));

/** Flags that tune a node without changing who it is: the only ones the tuning ConfigMap may carry. */
export const TUNING_FLAGS: readonly ServerFlag[] = [
  'election-timeout-min-ms',
  'election-timeout-max-ms',
  'heartbeat-ms',
  'cluster-id',
  'log-level',
];
