/**
 * The loop every Node sink shares: takes frames in order, writes one at a time, pulls from a pull
 * source as writes finish (so nothing piles up), closes each frame once written, and emits one
 * summary when its input completes.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import { invalidArgument } from '../../core/errors.js';
import type { NodeFrame } from '../../streams/frames.js';
import { pullFrom, type PullSubscription } from '../../streams/pull.js';

/** The writing side of a sink, made once per subscription. */
export interface FrameWriter<S> {
  /** Writes one frame; resolves when the destination can take the next. */
  write(frame: NodeFrame): Promise<void>;
  /** Called after the last frame (possibly none): flushes, closes, and returns the summary. */
  finish(): Promise<S>;
  /** Stops at once after an error or an unsubscribe (best effort, never throws). */
  abort(): void;
}

/**
 * An operator that writes every frame with the writer `open` makes at subscription, and emits the
 * writer's summary once, when the input completes. A pull source upstream (also behind synchronous
 * operators, see {@link pullFrom}) is asked for one frame at a time, as writes finish; a push source is
 * buffered in order. Errors of the writer end the stream.
 */
export function frameSink<S>(open: () => FrameWriter<S>): OperatorFunction<NodeFrame, S> {
  if (typeof open !== 'function') throw invalidArgument('frameSink(open)', 'a function that makes a FrameWriter { write, finish, abort }', open);
  return (source) =>
    new Observable<S>((subscriber) => {
      const writer = open();
      const queue: NodeFrame[] = [];
      let writing = false;
      let upstreamDone = false;
      let closed = false;
      let upstream: PullSubscription | undefined;

      const stop = (): void => {
        if (closed) return;
        closed = true;
        upstream?.unsubscribe();
        for (const f of queue.splice(0)) closeFrame(f);
        writer.abort();
      };
      const fail = (e: unknown): void => {
        if (closed) return;
        stop();
        subscriber.error(e);
      };
      const pump = async (): Promise<void> => {
        if (writing) return;
        writing = true;
        try {
          while (!closed && queue.length > 0) {
            const frame = queue.shift()!;
            try {
              await writer.write(frame);
            } finally {
              closeFrame(frame);
            }
            upstream?.request(1);
          }
          if (!closed && upstreamDone) {
            const summary = await writer.finish();
            if (closed) return;
            closed = true;
            subscriber.next(summary);
            subscriber.complete();
          }
        } catch (e) {
          fail(e);
        } finally {
          writing = false;
        }
      };

      const observer = {
        next: (frame: NodeFrame) => {
          if (closed) return closeFrame(frame);
          queue.push(frame);
          void pump();
        },
        error: fail,
        complete: () => {
          upstreamDone = true;
          void pump();
        },
      };
      upstream = pullFrom(source, observer);
      if (closed) upstream.unsubscribe();
      else upstream.request(1);
      return stop;
    });
}

function closeFrame(frame: NodeFrame): void {
  try {
    frame.close?.();
  } catch {
    // Best effort: a frame that fails to release is already unusable.
  }
}
