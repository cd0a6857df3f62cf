/**
 * `toMediaStreamTrack`: a live video track fed with the frames of a stream (for a `<video>`, a
 * `MediaRecorder`, a WebRTC peer), through `MediaStreamTrackGenerator` / `VideoTrackGenerator` where they
 * exist and a canvas's `captureStream()` elsewhere.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import { SimpleIRError } from '../../core/errors.js';

/** How the track is made: `generator` (MediaStreamTrackGenerator or VideoTrackGenerator) or `canvas`; `auto` picks the first that exists. */
export type TrackSinkMethod = 'auto' | 'generator' | 'canvas';

/** Options of {@link toMediaStreamTrack}. */
export interface MediaStreamSinkOptions {
  /** Default `auto`. */
  readonly method?: TrackSinkMethod;
}

/** The sink: an operator to pipe frames into, and the track they appear on. */
export interface MediaStreamTrackSink extends OperatorFunction<VideoFrame, number> {
  /** The live track; it ends when the piped stream completes, fails or is unsubscribed. */
  readonly track: MediaStreamTrack;
  /** Which method made the track. */
  readonly method: 'generator' | 'canvas';
}

interface GeneratorLike {
  readonly track: MediaStreamTrack;
  readonly writable: WritableStream<VideoFrame>;
}

/** A track generator: Chromium's MediaStreamTrackGenerator (a track itself) or the spec's VideoTrackGenerator. */
function makeGenerator(): GeneratorLike | null {
  const g = globalThis as {
    VideoTrackGenerator?: new () => { track: MediaStreamTrack; writable: WritableStream<VideoFrame> };
    MediaStreamTrackGenerator?: new (init: { kind: 'video' }) => MediaStreamTrack & { writable: WritableStream<VideoFrame> };
  };
  try {
    if (g.VideoTrackGenerator) {
      const v = new g.VideoTrackGenerator();
      return { track: v.track, writable: v.writable };
    }
    if (g.MediaStreamTrackGenerator) {
      const m = new g.MediaStreamTrackGenerator({ kind: 'video' });
      return { track: m, writable: m.writable };
    }
  } catch {
    // VideoTrackGenerator exists only in workers in some browsers: fall through to the canvas.
  }
  return null;
}

/** Writes frames; keeps only the newest frame while a write is pending (the track is live). */
interface FrameWriter {
  write(frame: VideoFrame): Promise<boolean>;
  end(): void;
}

function generatorWriter(gen: GeneratorLike): FrameWriter {
  const writer = gen.writable.getWriter();
  let ended = false;
  return {
    async write(frame) {
      try {
        await writer.ready;
        if (ended) return false;
        await writer.write(frame);
        return true;
      } finally {
        frame.close();
      }
    },
    end() {
      if (ended) return;
      ended = true;
      writer.close().catch(() => undefined);
      gen.track.stop();
    },
  };
}

function canvasWriter(): { writer: FrameWriter; track: MediaStreamTrack } {
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new SimpleIRError('BACKEND_UNAVAILABLE', 'toMediaStreamTrack: no 2D canvas context for the captureStream fallback');
  const track = canvas.captureStream(0).getVideoTracks()[0] as MediaStreamTrack & { requestFrame?: () => void };
  return {
    track,
    writer: {
      async write(frame) {
        try {
          if (canvas.width !== frame.displayWidth || canvas.height !== frame.displayHeight) {
            canvas.width = frame.displayWidth;
            canvas.height = frame.displayHeight;
          }
          ctx.drawImage(frame, 0, 0);
          track.requestFrame?.();
          return true;
        } finally {
          frame.close();
        }
      },
      end() {
        track.stop();
      },
    },
  };
}

/**
 * A video track showing the frames piped into the returned operator. Each frame is written (or, while a
 * write is pending, replaced by a newer one: the track is live) and closed; the operator emits the
 * timestamp of each frame written. The track ends with the stream. One subscription at a time.
 */
export function toMediaStreamTrack(options: MediaStreamSinkOptions = {}): MediaStreamTrackSink {
  const method = options.method ?? 'auto';
  if (method !== 'auto' && method !== 'generator' && method !== 'canvas') {
    throw new SimpleIRError('INVALID_ARGUMENT', `toMediaStreamTrack: method must be 'auto', 'generator' or 'canvas', got ${JSON.stringify(method)}`);
  }
  const gen = method === 'canvas' ? null : makeGenerator();
  if (method === 'generator' && !gen) throw new SimpleIRError('INVALID_ARGUMENT', "method 'generator' needs MediaStreamTrackGenerator or VideoTrackGenerator, which this browser lacks (use 'auto')");
  const made = gen ? { writer: generatorWriter(gen), track: gen.track } : canvasWriter();
  const { writer, track } = made;
  const operator = (source: Parameters<OperatorFunction<VideoFrame, number>>[0]): Observable<number> =>
    new Observable<number>((subscriber) => {
      let pending: VideoFrame | null = null;
      let writing = false;
      let sourceDone = false;
      let finished = false;
      const finish = (): void => {
        if (finished) return;
        finished = true;
        pending?.close();
        pending = null;
        writer.end();
      };
      const drain = async (): Promise<void> => {
        writing = true;
        while (pending && !finished) {
          const frame = pending;
          pending = null;
          const timestamp = frame.timestamp;
          try {
            if (await writer.write(frame)) subscriber.next(timestamp);
          } catch (e) {
            finish();
            subscriber.error(new SimpleIRError('IO_ERROR', `writing a frame to the track failed: ${(e as Error).message}`, { timestamp }, { cause: e }));
            return;
          }
        }
        writing = false;
        if (sourceDone && !finished) {
          finish();
          subscriber.complete();
        }
      };
      const sub = source.subscribe({
        next: (frame) => {
          if (finished) {
            frame.close();
            return;
          }
          pending?.close();
          pending = frame;
          if (!writing) void drain();
        },
        error: (e) => {
          finish();
          subscriber.error(e);
        },
        complete: () => {
          sourceDone = true;
          // A write in progress completes the stream when it is done.
          if (!writing) {
            finish();
            subscriber.complete();
          }
        },
      });
      return () => {
        sub.unsubscribe();
        finish();
      };
    });
  return Object.assign(operator, { track, method: gen ? ('generator' as const) : ('canvas' as const) });
}
