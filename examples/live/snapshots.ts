/**
 * Copies of the input frames a live `restore` is working on, so that the split view can show the
 * original of the very frame whose restored version is on screen (the restorer closes its inputs, and
 * on a slow device the output lags the camera by seconds).
 */
import { Observable, type MonoTypeOperatorFunction } from 'rxjs';

/** A copy of one input frame. */
export interface Snapshot {
  readonly timestamp: number;
  readonly canvas: OffscreenCanvas;
}

/**
 * Mirrors the live mode's policy (at most `maxInFlight` frames in work and one waiting; a newer frame
 * replaces the waiting one; the waiting one starts when an output frees a slot), keeping a copy of
 * each frame in work or waiting: at most `maxInFlight + 1` copies, recycled.
 */
export class InputSnapshots {
  private working: Snapshot[] = [];
  private waiting: Snapshot | null = null;
  private readonly spare: OffscreenCanvas[] = [];
  /** The copy returned by the last `output` call, recycled on the next. */
  private lastShown: Snapshot | null = null;

  constructor(private readonly maxInFlight: number) {}

  /**
   * An operator to put right before `restore(model, { mode: 'live', maxInFlight })`: copies each frame
   * as it passes, synchronously, in the order the restorer sees them.
   */
  tap(): MonoTypeOperatorFunction<VideoFrame> {
    return (source) =>
      new Observable<VideoFrame>((subscriber) =>
        source.subscribe({
          next: (frame) => {
            this.take(frame);
            subscriber.next(frame);
          },
          error: (e: unknown) => subscriber.error(e),
          complete: () => subscriber.complete(),
        }),
      );
  }

  /** Records a frame entering the restorer. */
  take(frame: VideoFrame): void {
    const snap = this.copy(frame);
    if (this.waiting === null && this.working.length < this.maxInFlight) {
      this.working.push(snap);
      return;
    }
    if (this.waiting) this.recycle(this.waiting);
    this.waiting = snap;
  }

  /**
   * The copy of the input of the output frame at `timestamp`, or null when it is not known (then the
   * bookkeeping resynchronises). Frames in work before it (failed ones) are forgotten, and the waiting
   * frame is promoted as the restorer does. The copy stays valid until the next call.
   */
  output(timestamp: number): Snapshot | null {
    let found: Snapshot | null = null;
    const at = this.working.findIndex((s) => s.timestamp === timestamp);
    if (at >= 0) {
      for (const s of this.working.splice(0, at)) this.recycle(s);
      found = this.working.shift()!;
    } else if (this.waiting?.timestamp === timestamp) {
      // The restorer started the waiting frame earlier than this mirror thought (a frame failed).
      for (const s of this.working.splice(0)) this.recycle(s);
      found = this.waiting;
      this.waiting = null;
    }
    if (this.waiting && this.working.length < this.maxInFlight) {
      this.working.push(this.waiting);
      this.waiting = null;
    }
    if (this.lastShown) this.recycle(this.lastShown);
    this.lastShown = found;
    return found;
  }

  /** Forgets everything (a new stream starts). */
  clear(): void {
    for (const s of this.working.splice(0)) this.recycle(s);
    if (this.waiting) this.recycle(this.waiting);
    this.waiting = null;
    if (this.lastShown) this.recycle(this.lastShown);
    this.lastShown = null;
  }

  private copy(frame: VideoFrame): Snapshot {
    const w = frame.displayWidth;
    const h = frame.displayHeight;
    let canvas = this.spare.pop();
    if (!canvas) canvas = new OffscreenCanvas(w, h);
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    const ctx = canvas.getContext('2d')!;
    ctx.drawImage(frame, 0, 0, w, h);
    return { timestamp: frame.timestamp, canvas };
  }

  private recycle(s: Snapshot): void {
    if (this.spare.length < this.maxInFlight + 3) this.spare.push(s.canvas);
  }
}
