/**
 * Browser entry of video-camera.test.ts: the fake webcam (a y4m the test made) through fromCamera /
 * fromMediaStream -> live restore (tiny SimpleIR, webgpu) -> toCanvas, with every VideoFrame tracked;
 * a <video> through fromVideoElement; frames into toMediaStreamTrack and read back from the track.
 */
import { firstValueFrom, lastValueFrom, Observable, take, toArray, type OperatorFunction } from 'rxjs';
import { SimpleIR, selectBackend } from '../../../src/index';
import { fromCamera, fromMediaStream, fromVideoElement, toCanvas, toMediaStreamTrack, type MediaStreamReadMethod, type TrackSinkMethod } from '../../../src/browser';
import { restore } from '../../../src/streams/restore';
import type { RestoreMetrics } from '../../../src/streams/metrics';
import { openCount, resetTracking, tick, trackFrame } from './media-tracking';

export interface LiveResult {
  readonly drawn: number[];
  readonly canvas: [number, number];
  readonly metrics: RestoreMetrics | null;
  readonly framesSeen: number;
  readonly openFrames: number;
  readonly trackState: string;
  readonly ms: number;
}

export interface ElementResult {
  readonly timestamps: number[];
  readonly sizes: string[];
  readonly openFrames: number;
}

export interface TrackSinkResult {
  readonly method: string;
  readonly written: number[];
  readonly received: number;
  readonly receivedSize: string;
  readonly trackStateAfter: string;
  readonly openFrames: number;
}

declare global {
  interface Window {
    liveRestore: (frames: number, owner: 'sdk' | 'app', method: MediaStreamReadMethod) => Promise<LiveResult>;
    videoElement: (url: string) => Promise<ElementResult>;
    trackSink: (method: TrackSinkMethod) => Promise<TrackSinkResult>;
  }
}

/** Frames the tracked sources emitted since the last reset. */
let seen = 0;

/** Tracks the frames a source emits (a processor's frames are not constructed on the page). */
function tracked(): OperatorFunction<VideoFrame, VideoFrame> {
  return (source) =>
    new Observable<VideoFrame>((subscriber) =>
      source.subscribe({
        next: (f) => {
          trackFrame(f);
          seen++;
          subscriber.next(f);
        },
        error: (e) => subscriber.error(e),
        complete: () => subscriber.complete(),
      }),
    );
}

function reset(): void {
  resetTracking();
  seen = 0;
}

// Remember the streams getUserMedia gives (to check that the SDK stops what it opened).
const streams: MediaStream[] = [];
const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = async (c) => {
  const s = await getUserMedia(c);
  streams.push(s);
  return s;
};

let model: SimpleIR | undefined;

window.liveRestore = async (frames, owner, method) => {
  reset();
  await selectBackend('webgpu', { onWarning: () => undefined });
  model ??= SimpleIR.create('tiny', { init: 'random', seed: 5 });
  const canvas = document.createElement('canvas');
  let metrics: RestoreMetrics | null = null;
  const appStream = owner === 'app' ? await getUserMedia({ video: true }) : null;
  const source = appStream ? fromMediaStream(appStream, { method }) : fromCamera(true, { method });
  const t0 = performance.now();
  const drawn = await firstValueFrom(
    source.pipe(
      tracked(),
      restore(model, { mode: 'live', onMetrics: (m) => (metrics = m) }),
      toCanvas(canvas),
      take(frames),
      toArray(),
    ),
  );
  const ms = performance.now() - t0;
  // Frames in work when take() unsubscribed are closed when their step ends.
  for (let i = 0; i < 100 && openCount() > 0; i++) await tick(50);
  const track = (appStream ?? streams[streams.length - 1]!).getVideoTracks()[0]!;
  const result: LiveResult = { drawn, canvas: [canvas.width, canvas.height], metrics, framesSeen: seen, openFrames: openCount(), trackState: track.readyState, ms };
  appStream?.getTracks().forEach((t) => t.stop());
  return result;
};

window.videoElement = async (url) => {
  reset();
  const video = document.createElement('video');
  video.muted = true;
  video.src = url;
  const sizes = new Set<string>();
  const timestamps = await lastValueFrom(
    fromVideoElement(video, { play: true }).pipe(
      tracked(),
      (src) =>
        new Observable<number>((subscriber) =>
          src.subscribe({
            next: (f) => {
              sizes.add(`${f.displayWidth}x${f.displayHeight}`);
              subscriber.next(f.timestamp);
              f.close();
            },
            error: (e) => subscriber.error(e),
            complete: () => subscriber.complete(),
          }),
        ),
      toArray(),
    ),
  );
  return { timestamps, sizes: [...sizes], openFrames: openCount() };
};

window.trackSink = async (method) => {
  reset();
  const sink = toMediaStreamTrack({ method });
  // Read the track back while frames are written.
  const Processor = (globalThis as unknown as { MediaStreamTrackProcessor: new (i: { track: MediaStreamTrack }) => { readable: ReadableStream<VideoFrame> } }).MediaStreamTrackProcessor;
  const reader = new Processor({ track: sink.track }).readable.getReader();
  let received = 0;
  let receivedSize = '';
  const reading = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      received++;
      receivedSize = `${value.displayWidth}x${value.displayHeight}`;
      value.close();
    }
  })();
  const canvas = new OffscreenCanvas(48, 32);
  const ctx = canvas.getContext('2d')!;
  const frames: VideoFrame[] = [];
  for (let i = 0; i < 5; i++) {
    ctx.fillStyle = `rgb(${i * 50}, 100, 200)`;
    ctx.fillRect(0, 0, 48, 32);
    frames.push(new VideoFrame(canvas, { timestamp: i * 100_000 }));
  }
  // One frame every 100 ms, like a slow live stream.
  const paced = new Observable<VideoFrame>((subscriber) => {
    let i = 0;
    const timer = setInterval(() => {
      if (i < frames.length) subscriber.next(frames[i++]!);
      else {
        clearInterval(timer);
        subscriber.complete();
      }
    }, 100);
    return () => clearInterval(timer);
  });
  const written = await lastValueFrom(paced.pipe(sink, toArray()));
  await Promise.race([reading, tick(2000)]);
  reader.cancel().catch(() => undefined);
  await tick(100);
  return { method: sink.method, written, received, receivedSize, trackStateAfter: sink.track.readyState, openFrames: openCount() };
};

