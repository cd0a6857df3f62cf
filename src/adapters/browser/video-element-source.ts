/**
 * `fromVideoElement`: a `VideoFrame` of each frame a `<video>` presents, through
 * `requestVideoFrameCallback`. The app keeps the element: it is neither played nor paused here unless asked.
 */
import { Observable, type Subscriber } from 'rxjs';
import { describeValue, SimpleIRError } from '../../core/errors.js';

/** Options of {@link fromVideoElement}. */
export interface VideoElementSourceOptions {
  /** Call `video.play()` on subscribe (default false: the app controls playback). */
  readonly play?: boolean;
}

/**
 * Emits a frame per presented frame of `video` to `subscriber` until the returned function is called.
 * Timestamps: the media time for a file, the capture (or presentation) time for a live stream (`live`).
 * A file's `ended` completes the subscriber, an `error` fails it.
 */
export function videoElementFrames(video: HTMLVideoElement, subscriber: Subscriber<VideoFrame>, options: { live: boolean }): () => void {
  if (typeof video.requestVideoFrameCallback !== 'function') {
    throw new SimpleIRError('INVALID_ARGUMENT', 'this browser has no HTMLVideoElement.requestVideoFrameCallback');
  }
  let handle = 0;
  let stopped = false;
  const onFrame = (_now: number, metadata: VideoFrameCallbackMetadata): void => {
    if (stopped) return;
    handle = video.requestVideoFrameCallback(onFrame);
    const ms = options.live ? (metadata.captureTime ?? metadata.presentationTime) : metadata.mediaTime * 1000;
    let frame: VideoFrame;
    try {
      frame = new VideoFrame(video, { timestamp: Math.round(ms * 1000) });
    } catch {
      return; // No picture yet (e.g. while the element reloads): skip this callback.
    }
    subscriber.next(frame);
  };
  const onEnded = (): void => {
    if (!options.live) subscriber.complete();
  };
  const onError = (): void => {
    const err = video.error;
    subscriber.error(new SimpleIRError(err?.code === 4 ? 'UNSUPPORTED_FORMAT' : 'IO_ERROR', `the video element failed: ${err?.message || `media error ${err?.code ?? '?'}`}`, { code: err?.code }));
  };
  handle = video.requestVideoFrameCallback(onFrame);
  video.addEventListener('ended', onEnded);
  video.addEventListener('error', onError);
  return () => {
    stopped = true;
    video.cancelVideoFrameCallback(handle);
    video.removeEventListener('ended', onEnded);
    video.removeEventListener('error', onError);
  };
}

/**
 * A `VideoFrame` of each frame `video` presents while it plays, timestamped with its media time;
 * completes when the video ends. The subscriber closes each frame. Frames the element presents
 * while the consumer is busy are still emitted: put `restore(model, { mode: 'live' })` after it.
 */
export function fromVideoElement(video: HTMLVideoElement, options: VideoElementSourceOptions = {}): Observable<VideoFrame> {
  if (typeof HTMLVideoElement !== 'undefined' && !(video instanceof HTMLVideoElement)) {
    throw new SimpleIRError('INVALID_ARGUMENT', `fromVideoElement takes a <video> element (HTMLVideoElement), got ${describeValue(video)}`);
  }
  return new Observable<VideoFrame>((subscriber) => {
    const stop = videoElementFrames(video, subscriber, { live: false });
    if (options.play) {
      video.play().catch((e: unknown) => subscriber.error(new SimpleIRError('IO_ERROR', `video.play() failed: ${String(e)}`, {}, { cause: e })));
    }
    return stop;
  });
}
