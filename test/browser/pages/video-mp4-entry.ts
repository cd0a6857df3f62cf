/**
 * Browser entry of video-mp4.test.ts: MP4 files (served by the test) through fromMp4 -> restore
 * (tiny SimpleIR on webgpu, or a pass-through) -> toMp4, with every decoder and VideoFrame tracked.
 */
import * as tf from '@tensorflow/tfjs';
import { concat, count, firstValueFrom, NEVER, lastValueFrom, map, Observable, take, toArray, type OperatorFunction } from 'rxjs';
import { SimpleIR, selectBackend } from '../../../src/index';
import { fromMp4, toMp4, type Mp4Info, type Mp4WriteSummary } from '../../../src/browser';
import { pullSource } from '../../../src/streams/pull';
import { restore } from '../../../src/streams/restore';
import { countReadbacks } from './readbacks';
import { base64, decodedCount, leaks, openCount, resetTracking, tick, type Leaks } from './media-tracking';

export interface TranscodeResult {
  readonly info: Mp4Info;
  /** The output file, base64. */
  readonly mp4: string;
  readonly bytes: number;
  readonly ms: number;
  /** Timestamps (µs) of the frames that reached toMp4. */
  readonly timestamps: number[];
  /** Durations (µs) of the frames that reached toMp4 (null where a frame had none). */
  readonly durations: (number | null)[];
  readonly leaks: Leaks;
  /** tfjs readbacks (data/dataSync/... and the backend's read/readSync) during the run. */
  readonly readbacks: Record<string, number>;
}

export type { Leaks };

export interface ErrorResult {
  /** Frames emitted before the error. */
  readonly frames: number;
  readonly code: string | null;
  readonly message: string;
  readonly leaks: Leaks;
}

export interface PullResult {
  /** Frames decoded by the decoder (outputs) when only `requested` were asked for. */
  readonly decoded: number;
  readonly requested: number;
  readonly emitted: number;
  readonly leaks: Leaks;
}

export interface StreamResult {
  readonly summary: Mp4WriteSummary;
  /** Bytes and write calls the target stream received. */
  readonly bytes: number;
  readonly writes: number;
  /** Frames the source had produced when the target got its first bytes. */
  readonly producedAtFirstWrite: number;
  readonly produced: number;
  /** What the target received, base64. */
  readonly mp4: string;
  readonly leaks: Leaks;
}

declare global {
  interface Window {
    transcode: (url: string, mode: 'restore' | 'identity', audio: boolean) => Promise<TranscodeResult>;
    mp4Error: (url: string) => Promise<ErrorResult>;
    mp4Info: (url: string) => Promise<Mp4Info>;
    unsubscribeMidStream: (url: string, after: number) => Promise<Leaks>;
    pullOnly: (url: string, requested: number) => Promise<PullResult>;
    pipelineUnsubscribe: (url: string, afterDecoded: number) => Promise<Leaks>;
    inputKinds: (url: string) => Promise<Record<string, number>>;
    streamToTarget: (frames: number, maxBufferedBytes: number) => Promise<StreamResult>;
    firstFrame: (url: string) => Promise<{ timestamp: number; width: number; frameCount: number; leaks: Leaks }>;
    countFrames: (url: string) => Promise<number>;
    targetFailures: (url: string) => Promise<{ failing: ErrorResult; aborted: string | null; leaks: Leaks }>;
  }
}

/** Records the timestamps of the frames passing through. */
function tapTimestamps(into: number[], durations: (number | null)[]): OperatorFunction<VideoFrame, VideoFrame> {
  return (source) =>
    new Observable<VideoFrame>((subscriber) =>
      source.subscribe({
        next: (f) => {
          into.push(f.timestamp);
          durations.push(f.duration);
          subscriber.next(f);
        },
        error: (e) => subscriber.error(e),
        complete: () => subscriber.complete(),
      }),
    );
}

let model: SimpleIR | undefined;

window.transcode = async (url, mode, audio) => {
  resetTracking();
  await selectBackend('webgpu', { onWarning: () => undefined });
  model ??= SimpleIR.create('tiny');
  const t0 = performance.now();
  const source = fromMp4(url);
  const timestamps: number[] = [];
  const durations: (number | null)[] = [];
  const restored = mode === 'restore' ? source.pipe(restore(model)) : source;
  const { result: blob, counts } = await countReadbacks(() => lastValueFrom(restored.pipe(tapTimestamps(timestamps, durations), toMp4({ source, copyAudio: audio }))));
  const ms = performance.now() - t0;
  return { info: await source.info, mp4: await base64(blob), bytes: blob.size, ms, timestamps, durations, leaks: await leaks(), readbacks: counts };
};

window.mp4Error = async (url) => {
  resetTracking();
  let frames = 0;
  const counted = fromMp4(url).pipe(
    (src) =>
      new Observable<number>((subscriber) =>
        src.subscribe({
          next: (f) => {
            frames++;
            f.close();
          },
          error: (e) => subscriber.error(e),
          complete: () => subscriber.complete(),
        }),
      ),
  );
  try {
    await lastValueFrom(counted, { defaultValue: 0 });
    return { frames, code: null, message: 'no error', leaks: await leaks() };
  } catch (e) {
    const err = e as { code?: string; message?: string };
    return { frames, code: err.code ?? null, message: String(err.message), leaks: await leaks() };
  }
};

window.mp4Info = (url) => fromMp4(url).info;

window.unsubscribeMidStream = async (url, after) => {
  resetTracking();
  const frames = await firstValueFrom(fromMp4(url).pipe(take(after), toArray()));
  frames.forEach((f) => f.close());
  return leaks();
};

window.pullOnly = async (url, requested) => {
  resetTracking();
  const got: VideoFrame[] = [];
  const sub = fromMp4(url, { decodeAhead: 1 }).pull({ next: (f) => got.push(f) });
  sub.request(requested);
  for (let i = 0; i < 100 && got.length < requested; i++) await tick(20);
  // Give the decoder time to run ahead, if it would.
  await tick(500);
  const decoded = decodedCount();
  sub.unsubscribe();
  got.forEach((f) => f.close());
  return { decoded, requested, emitted: got.length, leaks: await leaks() };
};

window.pipelineUnsubscribe = async (url, afterDecoded) => {
  resetTracking();
  await selectBackend('webgpu', { onWarning: () => undefined });
  model ??= SimpleIR.create('tiny');
  let emitted = false;
  const sub = fromMp4(url)
    .pipe(restore(model), toMp4())
    .subscribe({ next: () => (emitted = true) });
  for (let i = 0; i < 600 && decodedCount() < afterDecoded; i++) await tick(50);
  sub.unsubscribe();
  if (emitted) throw new Error('the pipeline finished before the unsubscribe');
  // A frame in work is closed when its step ends.
  for (let i = 0; i < 100 && openCount() > 0; i++) await tick(50);
  return leaks();
};

window.inputKinds = async (url) => {
  const blob = await (await fetch(url)).blob();
  const inputs = {
    blob,
    arrayBuffer: await blob.arrayBuffer(),
    uint8Array: new Uint8Array(await blob.arrayBuffer()),
    url: new URL(url, location.href),
    string: url,
  };
  const out: Record<string, number> = {};
  for (const [name, input] of Object.entries(inputs)) {
    out[name] = await lastValueFrom(fromMp4(input).pipe(map((f) => f.close()), count()));
  }
  return out;
};

window.streamToTarget = async (frames, maxBufferedBytes) => {
  resetTracking();
  const [w, h] = [64, 48];
  let produced = 0;
  let producedAtFirstWrite = -1;
  // A pull source of synthetic frames, 25 fps: a gradient that moves with the frame number.
  const source = pullSource<VideoFrame>((producer) => {
    void (async () => {
      for (let i = 0; i < frames; i++) {
        await producer.waitForDemand();
        if (producer.closed) return;
        const rgba = new Uint8Array(w * h * 4);
        for (let p = 0; p < w * h; p++) {
          rgba[4 * p] = (p % w) * 4 + i;
          rgba[4 * p + 1] = Math.floor(p / w) * 5 + 2 * i;
          rgba[4 * p + 2] = 3 * i;
          rgba[4 * p + 3] = 255;
        }
        producer.next(new VideoFrame(rgba, { format: 'RGBA', codedWidth: w, codedHeight: h, timestamp: i * 40_000, duration: 40_000 }));
        produced++;
      }
      producer.complete();
    })();
  });
  // A slow target: each write takes a turn of the event loop.
  const received: Uint8Array[] = [];
  let bytes = 0;
  let writes = 0;
  const target = new WritableStream<Uint8Array>(
    {
      async write(chunk) {
        if (producedAtFirstWrite < 0) producedAtFirstWrite = produced;
        received.push(chunk.slice());
        bytes += chunk.byteLength;
        writes++;
        await tick(0);
      },
    },
    { highWaterMark: 1 },
  );
  const summary = await lastValueFrom(source.pipe(toMp4({ target, maxBufferedBytes, framerate: 25, timescale: 1000 })));
  return { summary, bytes, writes, producedAtFirstWrite, produced, mp4: await base64(new Blob(received as BlobPart[])), leaks: await leaks() };
};

window.firstFrame = async (url) => {
  resetTracking();
  const source = fromMp4(url);
  const frame = await firstValueFrom(source);
  const result = { timestamp: frame.timestamp, width: frame.displayWidth };
  frame.close();
  return { ...result, frameCount: (await source.info).video.frameCount, leaks: await leaks() };
};

window.countFrames = (url) => lastValueFrom(fromMp4(url).pipe(map((f) => f.close()), count()));

window.targetFailures = async (url) => {
  resetTracking();
  // A target that fails on its fourth write: toMp4 stops with IO_ERROR and releases everything.
  let writes = 0;
  const failing = new WritableStream<Uint8Array>({
    write() {
      if (++writes === 4) throw new Error('disk full');
    },
  });
  let failingResult: ErrorResult;
  try {
    await lastValueFrom(fromMp4(url).pipe(toMp4({ target: failing })));
    failingResult = { frames: writes, code: null, message: 'no error', leaks: await leaks() };
  } catch (e) {
    const err = e as { code?: string; message?: string };
    failingResult = { frames: writes, code: err.code ?? null, message: String(err.message), leaks: await leaks() };
  }
  // Unsubscribing after a few frames (a stream that never ends, so the file cannot be finished first) aborts the target.
  resetTracking();
  let aborted: string | null = null;
  const target = new WritableStream<Uint8Array>({
    abort(reason) {
      aborted = String((reason as { code?: string })?.code ?? reason);
    },
  });
  const sub = concat(fromMp4(url).pipe(take(3)), NEVER)
    .pipe(toMp4({ target }))
    .subscribe({ error: () => undefined });
  for (let i = 0; i < 200 && decodedCount() < 3; i++) await tick(10);
  sub.unsubscribe();
  for (let i = 0; i < 100 && aborted === null; i++) await tick(10);
  return { failing: failingResult, aborted, leaks: await leaks() };
};
