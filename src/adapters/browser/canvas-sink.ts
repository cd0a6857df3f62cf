/** `toCanvas`: draws each frame of a stream onto a canvas and closes it. */
import { Observable, type OperatorFunction } from 'rxjs';
import { describeValue, SimpleIRError } from '../../core/errors.js';

/** Options of {@link toCanvas}. */
export interface CanvasSinkOptions {
  /** Resize the canvas to each frame's display size (default true); otherwise the frame is scaled to the canvas. */
  readonly resize?: boolean;
}

/**
 * Draws every frame onto `canvas` (2D context) and closes it; emits the timestamp (µs) of each drawn
 * frame and completes with the source. Frames that arrive after an unsubscribe are closed undrawn.
 */
export function toCanvas(canvas: HTMLCanvasElement | OffscreenCanvas, options: CanvasSinkOptions = {}): OperatorFunction<VideoFrame, number> {
  if (typeof (canvas as { getContext?: unknown } | null)?.getContext !== 'function') {
    throw new SimpleIRError('INVALID_ARGUMENT', `toCanvas takes an HTMLCanvasElement or an OffscreenCanvas (e.g. document.querySelector('canvas')), got ${describeValue(canvas)}`);
  }
  const resize = options.resize ?? true;
  return (source) =>
    new Observable<number>((subscriber) => {
      const ctx = canvas.getContext('2d') as CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D | null;
      if (!ctx) {
        subscriber.error(new SimpleIRError('INVALID_ARGUMENT', 'toCanvas needs a canvas that can give a 2D context (this one already has another kind)'));
        return;
      }
      return source.subscribe({
        next: (frame) => {
          const timestamp = frame.timestamp;
          try {
            if (resize && (canvas.width !== frame.displayWidth || canvas.height !== frame.displayHeight)) {
              canvas.width = frame.displayWidth;
              canvas.height = frame.displayHeight;
            }
            ctx.drawImage(frame, 0, 0, canvas.width, canvas.height);
          } catch (e) {
            subscriber.error(new SimpleIRError('INVALID_IMAGE', `toCanvas could not draw the frame at ${timestamp} µs: ${(e as Error).message}`, { timestamp }, { cause: e }));
            return;
          } finally {
            frame.close();
          }
          subscriber.next(timestamp);
        },
        error: (e) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
    });
}
