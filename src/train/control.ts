/**
 * Pause, resume and stop for a running training loop. The loop looks at the flags after each optimizer step (a step
 * is never cut in half): a pause saves a checkpoint and waits; a stop saves one and ends the run.
 */
export class RunControl {
  pauseRequested = false;
  stopRequested = false;
  private wake: (() => void) | null = null;

  pause(): void {
    this.pauseRequested = true;
  }

  resume(): void {
    this.pauseRequested = false;
    this.wake?.();
  }

  stop(): void {
    this.stopRequested = true;
    this.wake?.();
  }

  /** Resolves when the run may go on (resumed) or must end (stopped). */
  whilePaused(): Promise<void> {
    if (!this.pauseRequested || this.stopRequested) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = () => {
        this.wake = null;
        resolve();
      };
    });
  }
}
