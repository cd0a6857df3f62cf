/** The online learner's time budget: each frame grants learning time, learning work debits it, so learning takes a set time per frame on average. */

/** Counters of the time budget. */
export interface BudgetStats {
  /** Frames seen (each grants `stepBudgetMs`). */
  readonly frames: number;
  readonly steps: number;
  /** Time spent learning (steps, sampling, seeding), ms. */
  readonly busyMs: number;
  /** Longest single charge, ms. */
  readonly maxChargeMs: number;
  /** Current credit, ms. */
  readonly credit: number;
}

/** Learning time credit: a frame grants `perFrameMs` (credit never exceeds one frame's grant), work is charged; a negative credit is debt the next frames repay. */
export class TimeBudget {
  private frames = 0;
  private busyMs = 0;
  private maxChargeMs = 0;
  private creditMs = 0;

  constructor(private readonly perFrameMs: number) {}

  /** Credit left, ms (negative: debt). */
  get credit(): number {
    return this.creditMs;
  }

  /** A frame passed: grants its learning time. */
  grantFrame(): void {
    this.frames++;
    this.creditMs = Math.min(this.creditMs + this.perFrameMs, this.perFrameMs);
  }

  /** Debits `ms` spent learning. */
  charge(ms: number): void {
    this.busyMs += ms;
    this.maxChargeMs = Math.max(this.maxChargeMs, ms);
    this.creditMs -= ms;
  }

  /** The counters, with the learner's `steps`. */
  stats(steps: number): BudgetStats {
    return { frames: this.frames, steps, busyMs: this.busyMs, maxChargeMs: this.maxChargeMs, credit: this.creditMs };
  }
}
