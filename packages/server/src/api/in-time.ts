// A promise that settles by a time: an outcome that comes later is not waited for (the operation
// itself is not canceled, which is why the timeout's error must say that it may still happen).

/** `p`'s outcome, or `timedOut()` rejected once `byMs` (Date.now() clock) passes. */
export function inTime<T>(p: Promise<T>, byMs: number, timedOut: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(timedOut()), Math.max(0, byMs - Date.now()));
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e as Error);
      },
    );
  });
}
