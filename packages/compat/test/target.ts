// What a compatibility test runs against: etcd itself or a raftkv cluster, both speaking etcd's v3 API.

export interface Target {
  readonly name: 'etcd' | 'raftkv';
  /** HOST:PORT of every member's client port. */
  readonly endpoints: readonly string[];
  /** Kills every process and removes every data dir it started. */
  stop(): Promise<void>;
  /** The servers' own output, for a failure message. */
  logs(): string;
}
