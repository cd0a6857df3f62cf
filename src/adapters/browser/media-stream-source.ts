/**
 * Camera and media-stream sources: the frames of a live video track, read with
 * `MediaStreamTrackProcessor` where it exists and through a `<video>` with `requestVideoFrameCallback`
 * elsewhere. Tracks the SDK opened (fromCamera) are stopped on unsubscribe; tracks the app passed in
 * keep running.
 */
import { Observable, type Subscriber } from 'rxjs';
import { describeValue, SimpleIRError } from '../../core/errors.js';
import { videoElementFrames } from './video-element-source.js';

/** How frames are read from a track: `processor` (MediaStreamTrackProcessor) or `video-element`; `auto` picks the first that exists. */
export type MediaStreamReadMethod = 'auto' | 'processor' | 'video-element';

/** Options of {@link fromMediaStream} and {@link fromCamera}. */
export interface MediaStreamSourceOptions {
  /** Default `auto`. */
  readonly method?: MediaStreamReadMethod;
}

/** `MediaStreamTrackProcessor` (Chromium; not in TypeScript's DOM types). */
interface TrackProcessor {
  readonly readable: ReadableStream<VideoFrame>;
}
type TrackProcessorConstructor = new (init: { track: MediaStreamTrack; maxBufferSize?: number }) => TrackProcessor;

function processorConstructor(): TrackProcessorConstructor | undefined {
  return (globalThis as { MediaStreamTrackProcessor?: TrackProcessorConstructor }).MediaStreamTrackProcessor;
}

function videoTrackOf(input: MediaStream | MediaStreamTrack): MediaStreamTrack {
  const isStream = typeof MediaStream !== 'undefined' && input instanceof MediaStream;
  const isTrack = typeof MediaStreamTrack !== 'undefined' && input instanceof MediaStreamTrack;
  if (!isStream && !isTrack) {
    throw new SimpleIRError('INVALID_ARGUMENT', `fromMediaStream takes a MediaStream or a MediaStreamTrack (e.g. from getUserMedia or canvas.captureStream()), got ${describeValue(input)}`);
  }
  const track = isStream ? (input as MediaStream).getVideoTracks()[0] : (input as MediaStreamTrack);
  if (!track || track.kind !== 'video') throw new SimpleIRError('INVALID_ARGUMENT', 'the media stream has no video track');
  if (track.readyState === 'ended') throw new SimpleIRError('INVALID_ARGUMENT', 'the video track has ended');
  return track;
}

const METHODS: readonly MediaStreamReadMethod[] = ['auto', 'processor', 'video-element'];

function readMethod(options: MediaStreamSourceOptions): MediaStreamReadMethod {
  const method = options?.method ?? 'auto';
  if (!METHODS.includes(method)) throw new SimpleIRError('INVALID_ARGUMENT', `method must be one of ${METHODS.map((m) => `'${m}'`).join(', ')}, got ${JSON.stringify(method)}`);
  return method;
}

/** Emits the frames of `track` until it ends or the subscriber leaves; returns the teardown. */
function readTrack(track: MediaStreamTrack, method: MediaStreamReadMethod, subscriber: Subscriber<VideoFrame>): () => void {
  const Processor = processorConstructor();
  const useProcessor = method === 'processor' || (method === 'auto' && Processor !== undefined);
  if (!useProcessor) {
    const video = document.createElement('video');
    video.muted = true;
    video.playsInline = true;
    video.srcObject = new MediaStream([track]);
    const stop = videoElementFrames(video, subscriber, { live: true });
    video.play().catch((e: unknown) => subscriber.error(new SimpleIRError('IO_ERROR', `the video element would not play the stream: ${String(e)}`, {}, { cause: e })));
    return () => {
      stop();
      video.pause();
      video.srcObject = null;
    };
  }
  if (!Processor) throw new SimpleIRError('INVALID_ARGUMENT', "method 'processor' needs MediaStreamTrackProcessor, which this browser lacks (use 'auto')");
  const reader = new Processor({ track }).readable.getReader();
  let closed = false;
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (closed) {
          value.close();
          break;
        }
        subscriber.next(value);
      }
      if (!closed) subscriber.complete();
    } catch (e) {
      if (!closed) subscriber.error(new SimpleIRError('IO_ERROR', `reading the video track failed: ${(e as Error).message}`, {}, { cause: e }));
    }
  })();
  return () => {
    closed = true;
    reader.cancel().catch(() => undefined);
  };
}

/**
 * The frames of a live video track (a `MediaStream`'s first video track, or a track). The app keeps
 * ownership of the track: it is not stopped on unsubscribe. The subscriber closes each frame (the
 * `restore` operator does). Completes when the track ends.
 */
export function fromMediaStream(input: MediaStream | MediaStreamTrack, options: MediaStreamSourceOptions = {}): Observable<VideoFrame> {
  const track = videoTrackOf(input);
  const method = readMethod(options);
  return new Observable<VideoFrame>((subscriber) => readTrack(track, method, subscriber));
}

/**
 * The frames of a camera opened with `getUserMedia({ video: constraints })` on subscribe. The SDK owns
 * the camera: unsubscribing (or the end of the stream) stops its tracks, and the camera light goes off.
 * @throws (as an error notification) SimpleIRError `IO_ERROR` when the camera cannot be opened.
 */
export function fromCamera(constraints: MediaTrackConstraints | boolean = true, options: MediaStreamSourceOptions = {}): Observable<VideoFrame> {
  if (typeof constraints !== 'boolean' && (typeof constraints !== 'object' || constraints === null || Array.isArray(constraints))) {
    throw new SimpleIRError('INVALID_ARGUMENT', `fromCamera takes true or video constraints such as { width: 1280, facingMode: 'user' }, got ${describeValue(constraints)}`);
  }
  const method = readMethod(options);
  return new Observable<VideoFrame>((subscriber) => {
    let stream: MediaStream | undefined;
    let stopReading: (() => void) | undefined;
    let closed = false;
    const stopTracks = (): void => stream?.getTracks().forEach((t) => t.stop());
    navigator.mediaDevices.getUserMedia({ video: constraints, audio: false }).then(
      (s) => {
        stream = s;
        if (closed) {
          stopTracks();
          return;
        }
        try {
          stopReading = readTrack(videoTrackOf(s), method, subscriber);
        } catch (e) {
          subscriber.error(e);
        }
      },
      (e: unknown) => subscriber.error(new SimpleIRError('IO_ERROR', `could not open the camera: ${(e as Error).message ?? String(e)}`, { name: (e as Error).name }, { cause: e })),
    );
    return () => {
      closed = true;
      stopReading?.();
      stopTracks();
    };
  });
}
