// Many etcd Watch watchers on one prefix, a few to a bidirectional stream, the streams on every
// endpoint in turn so followers serve watches too (watch fan-out and the soak's watch traffic).
import { prefixEnd, type RaftkvClient, type WatchResponse } from '@raftkv/client';
import { etcdserverpb } from '@raftkv/proto';

export type WatchCall = ReturnType<RaftkvClient['etcdWatch']>;

export interface WatchStreams {
  readonly calls: readonly WatchCall[];
  /** Resolves once every watcher is created; rejects on the first stream error before that. */
  readonly created: Promise<void>;
}

/**
 * Opens `watchers` watchers on `prefix` over `streams` streams. Watcher w (0-based) is watch id
 * w - base + 1 on its stream; `onResponse` gets every answer but the creations, with that w.
 */
export function openWatchStreams(
  client: RaftkvClient,
  endpoints: readonly string[],
  watchers: number,
  streams: number,
  prefix: Buffer,
  onResponse: (watcher: number, r: WatchResponse) => void,
): WatchStreams {
  const rangeEnd = prefixEnd(prefix);
  const calls: WatchCall[] = [];
  const created: Promise<void>[] = [];
  const perStream = Math.ceil(watchers / streams);
  // Streams beyond what the watchers fill are not opened (an empty one would never report created).
  for (let s = 0; s < streams && s * perStream < watchers; s++) {
    const call = client.etcdWatch(endpoints[s % endpoints.length]!);
    calls.push(call);
    const base = s * perStream;
    const n = Math.min(perStream, watchers - base);
    let pending = n;
    created.push(
      new Promise<void>((resolve, reject) => {
        call.on('error', (e: Error) => reject(e));
        call.on('data', (r: WatchResponse) => {
          if (r.created) {
            if (--pending === 0) resolve();
            return;
          }
          onResponse(base + r.watchId - 1, r);
        });
      }),
    );
    for (let i = 0; i < n; i++) {
      const createRequest = etcdserverpb.WatchCreateRequest.fromPartial({ key: prefix, rangeEnd, watchId: i + 1 });
      call.write({ requestUnion: { $case: 'createRequest', createRequest } });
    }
  }
  return { calls, created: Promise.all(created).then(() => undefined) };
}
