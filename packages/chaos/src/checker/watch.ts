// The watch checker: every watcher's event stream (across its reconnects) must be exactly the writes
// to its range in revision order, from its start revision to the run's final revision — no gap, no
// duplicate, nothing out of order, nothing outside the range, every revision's events whole in one
// response. "The writes" are a reference history (a watch from revision 1 over every key on a quiet
// cluster, compaction off), itself checked first: contiguous revisions, the same from two nodes,
// replaying to the final Range, and holding every acknowledged write at its revision.

export interface WatchEvent {
  readonly revision: number;
  readonly key: string;
  readonly type: 'put' | 'delete';
  readonly value: string;
}

/** etcd's range: end '' = the key alone, end '\0' = every key >= key. Keys compare as bytes (latin1). */
export interface WatchRange {
  readonly key: string;
  readonly end: string;
}

export interface WatcherLog {
  readonly id: number;
  readonly range: WatchRange;
  /** The revision the watcher's first stream started from. */
  readonly startRevision: number;
  /** Each watch response's events as received, in order, across reconnects. */
  readonly responses: readonly (readonly WatchEvent[])[];
  readonly reconnects: number;
}

/** A write the workload saw acknowledged: at `revision`, these keys took these values (null = deleted). */
export interface AckedWrite {
  readonly revision: number;
  readonly writes: readonly { readonly key: string; readonly value: string | null }[];
}

export interface WatchReference {
  /** The final revision (a linearizable Range's header after the workload stopped). */
  readonly finalRevision: number;
  /** The final Range over every key. */
  readonly finalKvs: readonly { readonly key: string; readonly value: string; readonly modRevision: number }[];
  /** Watches from revision 1 over every key, from different nodes, flattened. */
  readonly streams: readonly (readonly WatchEvent[])[];
}

export type WatchViolationKind =
  | 'reference'
  | 'outside-range'
  | 'out-of-order'
  | 'duplicate'
  | 'missing'
  | 'phantom'
  | 'wrong-event'
  | 'split-revision';

export interface WatchViolation {
  /** The watcher's id; -1 for the reference itself. */
  readonly watcher: number;
  readonly kind: WatchViolationKind;
  readonly report: string;
}

export interface WatchCheck {
  readonly verdict: 'ok' | 'violation';
  readonly watchers: number;
  readonly eventsChecked: number;
  readonly referenceEvents: number;
  readonly reconnects: number;
  readonly violations: readonly WatchViolation[];
}

export function inRange(r: WatchRange, key: string): boolean {
  if (r.end === '') return key === r.key;
  return key >= r.key && (r.end === '\0' || key < r.end);
}

const show = (e: WatchEvent): string => `${e.type} ${JSON.stringify(e.key)}=${JSON.stringify(e.value)} @${e.revision}`;
const id = (e: { revision: number; key: string }): string => `${e.revision}\u0000${e.key}`;

/** The reference's own soundness; returns its events (the first stream) and what is wrong with it. */
export function checkReference(ref: WatchReference, acked: readonly AckedWrite[]): { events: WatchEvent[]; problems: string[] } {
  const problems: string[] = [];
  // Writes after the final Range (a lease expiring late) are outside the checked window.
  const upTo = (s: readonly WatchEvent[]): WatchEvent[] => s.filter((e) => e.revision <= ref.finalRevision);
  const events = upTo(ref.streams[0] ?? []);
  if (ref.streams.length === 0) problems.push('no reference stream');
  for (let s = 1; s < ref.streams.length; s++) {
    const other = upTo(ref.streams[s]!);
    const at = other.findIndex((e, i) => events[i] === undefined || show(e) !== show(events[i]!));
    if (at >= 0 || other.length !== events.length)
      problems.push(`reference streams 0 and ${s} differ at event ${at >= 0 ? at : Math.min(other.length, events.length)}`);
  }
  // Every revision from the first write to the final one holds at least one event, in order.
  let prev = 1;
  for (const e of events) {
    if (e.revision < prev) problems.push(`reference out of order: ${show(e)} after revision ${prev}`);
    else if (e.revision > prev + 1) problems.push(`reference skips revisions ${prev + 1}..${e.revision - 1}`);
    prev = Math.max(prev, e.revision);
  }
  if (prev !== ref.finalRevision) problems.push(`reference ends at revision ${prev}, the final Range is at ${ref.finalRevision}`);
  // Replaying it gives the final state.
  const state = new Map<string, { value: string; modRevision: number }>();
  for (const e of events) {
    if (e.type === 'put') state.set(e.key, { value: e.value, modRevision: e.revision });
    else state.delete(e.key);
  }
  const final = new Map(ref.finalKvs.map((kv) => [kv.key, kv]));
  for (const [k, v] of state) {
    const f = final.get(k);
    if (f === undefined || f.value !== v.value || f.modRevision !== v.modRevision)
      problems.push(
        `replaying the reference gives ${JSON.stringify(k)}=${JSON.stringify(v.value)}@${v.modRevision}, ` +
          `the final Range ${f ? `${JSON.stringify(f.value)}@${f.modRevision}` : 'has no such key'}`,
      );
  }
  for (const k of final.keys()) if (!state.has(k)) problems.push(`the final Range has ${JSON.stringify(k)}, the reference never wrote it`);
  // Every acknowledged write is there, at its revision.
  const byId = new Map(events.map((e) => [id(e), e]));
  for (const a of acked)
    for (const w of a.writes) {
      const e = byId.get(id({ revision: a.revision, key: w.key }));
      const ok = e !== undefined && (w.value === null ? e.type === 'delete' : e.type === 'put' && e.value === w.value);
      if (!ok)
        problems.push(
          `acknowledged write ${JSON.stringify(w.key)}=${JSON.stringify(w.value)} @${a.revision}: reference has ${e ? show(e) : 'nothing'}`,
        );
    }
  return { events, problems };
}

/** Checks one watcher's stream against the reference events in its range. */
function checkWatcher(w: WatcherLog, reference: readonly WatchEvent[], finalRevision: number): WatchViolation[] {
  const out: WatchViolation[] = [];
  const v = (kind: WatchViolationKind, report: string): void =>
    void out.push({ watcher: w.id, kind, report: `watcher ${w.id}: ${report}` });
  const expected = new Map<string, WatchEvent>();
  for (const e of reference)
    if (e.revision >= w.startRevision && e.revision <= finalRevision && inRange(w.range, e.key)) expected.set(id(e), e);
  const seen = new Map<string, number>(); // event id -> response index
  const responsesOf = new Map<number, Set<number>>(); // revision -> responses holding its events
  let last = 0;
  w.responses.forEach((events, r) => {
    for (const e of events) {
      if (e.revision > finalRevision) continue; // after the checked window (see checkReference)
      if (!inRange(w.range, e.key))
        v('outside-range', `${show(e)} is outside [${JSON.stringify(w.range.key)}, ${JSON.stringify(w.range.end)})`);
      if (e.revision < last) v('out-of-order', `${show(e)} after an event at revision ${last}`);
      last = Math.max(last, e.revision);
      if (seen.has(id(e))) v('duplicate', `${show(e)} delivered twice (responses ${seen.get(id(e))} and ${r})`);
      seen.set(id(e), r);
      const x = expected.get(id(e));
      if (x === undefined && !inRange(w.range, e.key)) continue; // reported as outside-range already
      if (x === undefined) v('phantom', `${show(e)} was never written (from revision ${w.startRevision})`);
      else if (show(x) !== show(e)) v('wrong-event', `got ${show(e)}, the write was ${show(x)}`);
      const rs = responsesOf.get(e.revision) ?? new Set<number>();
      rs.add(r);
      responsesOf.set(e.revision, rs);
    }
  });
  for (const [k, e] of expected) if (!seen.has(k)) v('missing', `never delivered ${show(e)}`);
  for (const [rev, rs] of responsesOf) if (rs.size > 1) v('split-revision', `revision ${rev}'s events came in ${rs.size} responses`);
  return out;
}

export function checkWatchers(watchers: readonly WatcherLog[], ref: WatchReference, acked: readonly AckedWrite[] = []): WatchCheck {
  const { events, problems } = checkReference(ref, acked);
  const violations: WatchViolation[] = problems.map((p) => ({ watcher: -1, kind: 'reference' as const, report: p }));
  let eventsChecked = 0;
  for (const w of watchers) {
    for (const r of w.responses) eventsChecked += r.filter((e) => e.revision <= ref.finalRevision).length;
    violations.push(...checkWatcher(w, events, ref.finalRevision));
  }
  return {
    verdict: violations.length === 0 ? 'ok' : 'violation',
    watchers: watchers.length,
    eventsChecked,
    referenceEvents: events.length,
    reconnects: watchers.reduce((n, w) => n + w.reconnects, 0),
    violations,
  };
}
