// Polling: the one way a test waits for something another process does.

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A waitFor that ran out of time; `cause` is the last error `f` threw, if any. */
export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
}

/**
 * Polls `f` every `everyMs` until it returns a value other than undefined, and resolves with it; a
 * throw counts as "not yet". After `timeoutMs` rejects with a WaitTimeoutError naming `what` and the
 * last error.
 */
export async function waitFor<T>(
  what: string,
  f: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) {
      const detail = last === undefined ? '' : `: ${String(last)}`;
      const message = `timed out after ${timeoutMs} ms waiting for ${what}${detail}`;
      throw new WaitTimeoutError(message, last === undefined ? undefined : { cause: last });
    }
    await sleep(everyMs);
  }
}
