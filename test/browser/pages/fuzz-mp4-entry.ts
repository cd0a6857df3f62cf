/**
 * Browser entry of fuzz-mp4.test.ts: mutants of small MP4 files (made in the page from fixed seeds by
 * test/helpers/mutate.ts) through `fromMp4`, every frame consumed and closed, with every decoder and
 * VideoFrame of the page tracked so that a leak after any input is a failure.
 */
import { Observable } from 'rxjs';
import { fromMp4 } from '../../../src/browser';
import { fuzz, type FuzzReport } from '../../helpers/fuzz';
import { mutateMp4 } from '../../helpers/mutate';
import { openCount, openDecoderCount, resetTracking } from './media-tracking';

export interface Mp4FuzzResult {
  readonly report: FuzzReport;
  /** Frames decoded over all inputs. */
  readonly frames: number;
  /** Inputs after which a frame was left open or a decoder not closed. */
  readonly leaks: string[];
}

declare global {
  interface Window {
    fuzzMp4: (urls: string[], seed: number, count: number, timeoutMs: number) => Promise<Mp4FuzzResult>;
  }
}

const bases = new Map<string, Uint8Array>();

/** Reads every frame of `input`, closing each; rejects with fromMp4's error, or after `timeoutMs` (unsubscribing). */
function readAll(input: Uint8Array | Blob, timeoutMs: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let frames = 0;
    const source: Observable<VideoFrame> = fromMp4(input);
    const sub = source.subscribe({
      next: (f) => {
        frames++;
        f.close();
      },
      error: (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
      complete: () => {
        clearTimeout(timer);
        resolve(frames);
      },
    });
    const timer = setTimeout(() => {
      sub.unsubscribe();
      reject(new Error(`no answer within ${timeoutMs} ms (${frames} frames read)`));
    }, timeoutMs);
  });
}

window.fuzzMp4 = async (urls, seed, count, timeoutMs) => {
  for (const url of urls) if (!bases.has(url)) bases.set(url, new Uint8Array(await (await fetch(url)).arrayBuffer()));
  const inputs = urls.map((u) => bases.get(u)!);
  let frames = 0;
  const leaks: string[] = [];
  const report = await fuzz({
    name: 'mp4 (fromMp4)',
    count,
    seed,
    codes: ['CORRUPT_INPUT', 'UNSUPPORTED_FORMAT', 'UNSUPPORTED_CODEC'],
    timeoutMs,
    mutate: (rng, i) => mutateMp4(inputs[i % inputs.length]!, rng),
    exercise: async (input, rng, index) => {
      const given = rng.next() < 0.25 ? new Blob([input.bytes as Uint8Array<ArrayBuffer>]) : input.bytes;
      try {
        frames += await readAll(given, timeoutMs);
      } finally {
        // Teardown is synchronous: by now every decoder is closed and every frame released.
        const openFrames = openCount();
        const openDecoders = openDecoderCount();
        if (openFrames > 0 || openDecoders > 0) leaks.push(`#${index} seed ${seed + index} ${input.kind}: ${openFrames} frame(s) open, ${openDecoders} decoder(s) not closed`);
        resetTracking();
      }
    },
  });
  return { report, frames, leaks };
};
