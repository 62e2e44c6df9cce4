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

/** The range_end that makes [key, range_end) the keys with this prefix (etcd's GetPrefixRangeEnd). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]); // all bytes 0xff: every key >= prefix
}
