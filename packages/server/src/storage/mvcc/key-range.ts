// etcd's reading of (key, range_end): an empty range_end names the single key; "\0" names every key
// >= key; anything else the half-open range [key, range_end), empty when range_end <= key.

export type KeyRange =
  | { readonly kind: 'single'; readonly key: Buffer }
  | { readonly kind: 'from'; readonly key: Buffer }
  | { readonly kind: 'range'; readonly key: Buffer; readonly end: Buffer };

export function keyRange(key: Buffer, rangeEnd: Buffer): KeyRange {
  if (rangeEnd.length === 0) return { kind: 'single', key };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { kind: 'from', key };
  return { kind: 'range', key, end: rangeEnd };
}
