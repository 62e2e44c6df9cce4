// The rows the applied writes inserted since the last `take`: what watchers are told (watch/). Filled by
// every write that ends (a Txn refused mid-way never reaches its end, so its rows never get here), taken
// by whoever commits the enclosing transaction, dropped when that transaction fails.
import type { KvRow } from './kv-row.js';

export class ChangeLog {
  private rows: KvRow[] = [];

  /** Off until someone takes the rows (a node's watch hub); a store nobody watches keeps nothing. */
  enabled = false;

  add(rows: readonly KvRow[]): void {
    if (!this.enabled) return;
    for (const r of rows) this.rows.push(r);
  }

  /** The rows since the last take, in revision order, and forgets them. */
  take(): KvRow[] {
    const rows = this.rows;
    this.rows = [];
    return rows;
  }

  /** The enclosing transaction rolled back: these rows never were. */
  drop(): void {
    this.rows = [];
  }
}
