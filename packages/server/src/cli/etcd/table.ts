// What etcdctl 3.4's output is made of beyond the KV printers: tablewriter's tables (headers upper-case
// and centred, cells right-aligned, as etcdctl sets them), go-humanize's byte sizes and Go's
// time.Duration text.

/** olekukonko/tablewriter as etcdctl renders it (SetAlignment(ALIGN_RIGHT)); ends with a newline. */
export function tableOf(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const head = header.map((h) => h.toUpperCase());
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = `+${w.map((n) => '-'.repeat(n + 2)).join('+')}+\n`;
  const centre = (s: string, n: number): string => {
    const left = Math.floor((n - s.length) / 2);
    return ' '.repeat(left) + s + ' '.repeat(n - s.length - left);
  };
  const row = (cells: readonly string[], fit: (s: string, n: number) => string): string =>
    `|${cells.map((c, i) => ` ${fit(c, w[i]!)} `).join('|')}|\n`;
  return line + row(head, centre) + line + rows.map((r) => row(r, (s, n) => s.padStart(n))).join('') + line;
}

/** go-humanize's Bytes (SI units): "49 kB", "1.5 MB", "512 B". */
export function humanizeBytes(n: number): string {
  if (n < 10) return `${n} B`;
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  const e = Math.floor(Math.log(n) / Math.log(1000));
  const val = Math.floor((n / 1000 ** e) * 10 + 0.5) / 10;
  return `${val < 10 ? val.toFixed(1) : val.toFixed(0)} ${units[e]}`;
}

/** Go's time.Duration String() for a duration in nanoseconds (e.g. "5.082413ms", "1.2s"). */
export function goDuration(ns: bigint): string {
  const trim = (whole: bigint, frac: bigint, digits: number): string => {
    const f = frac.toString().padStart(digits, '0').replace(/0+$/, '');
    return f === '' ? whole.toString() : `${whole}.${f}`;
  };
  if (ns < 1000n) return `${ns}ns`;
  if (ns < 1_000_000n) return `${trim(ns / 1000n, ns % 1000n, 3)}µs`;
  if (ns < 1_000_000_000n) return `${trim(ns / 1_000_000n, ns % 1_000_000n, 6)}ms`;
  return `${trim(ns / 1_000_000_000n, ns % 1_000_000_000n, 9)}s`;
}
