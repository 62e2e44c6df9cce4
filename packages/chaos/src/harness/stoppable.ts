/** A loop's stop flag with sleeps that end early when it is stopped (the nemeses' pacing). */
export class Stoppable {
  private stopped = false;
  private wake: (() => void) | null = null;

  get stopping(): boolean {
    return this.stopped;
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve();
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }
}
