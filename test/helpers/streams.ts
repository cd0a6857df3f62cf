/**
 * Helpers for the stream tests: synthetic Node frames that count their closes, an instrumented pull
 * source, and a converter wrapper that can slow down or fail.
 *
 *   const src = countingSource(20, { width: 32, height: 32 });
 *   await lastValueFrom(src.source.pipe(restore(model), toArray()));
 *   assert.equal(src.stats.closed, 20);
 */
import type * as tf from '@tensorflow/tfjs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { nodeFrameConverter, type FrameConverter, type NodeFrame, type NodeFrameInfo } from '../../src/streams/frames.js';
import { pullSource, type PullSource } from '../../src/streams/pull.js';

/** What a counting source saw. */
export interface SourceStats {
  /** Frames emitted. */
  emitted: number;
  /** Input frames closed (each at most once, or `doubleClosed` counts it). */
  closed: number;
  /** Frames closed a second time (a bug). */
  doubleClosed: number;
  /** Largest `emitted - consumed()` right after an emission. */
  maxAhead: number;
  /** True once the consumer unsubscribed or the source finished. */
  tornDown: boolean;
  /** Timestamps of the frames closed. */
  closedTimestamps: number[];
}

/** Frame duration used by the synthetic frames (microseconds, 25 fps). */
export const FRAME_US = 40_000;

/** A deterministic RGB frame whose pixels encode its index. */
export function makeFrame(index: number, width = 32, height = 32, stats?: SourceStats): NodeFrame {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    data[3 * i] = (index * 7 + i) & 0xff;
    data[3 * i + 1] = (index * 13 + 2 * i) & 0xff;
    data[3 * i + 2] = (255 - index * 3 - i) & 0xff;
  }
  const frame: NodeFrame = { data, width, height, channels: 3, timestamp: index * FRAME_US, duration: FRAME_US };
  if (stats) {
    let closed = false;
    frame.close = () => {
      if (closed) stats.doubleClosed++;
      else {
        stats.closed++;
        stats.closedTimestamps.push(frame.timestamp);
      }
      closed = true;
    };
  }
  return frame;
}

/** Options of {@link countingSource}. */
export interface CountingSourceOptions {
  width?: number;
  height?: number;
  /** Outputs received so far, for `maxAhead`. */
  consumed?: () => number;
  /** Replaces frame `i` (e.g. with a broken one). */
  frame?: (i: number, stats: SourceStats) => NodeFrame;
}

/** An instrumented pull source of `n` frames. */
export function countingSource(n: number, options: CountingSourceOptions = {}): { source: PullSource<NodeFrame>; stats: SourceStats } {
  const stats: SourceStats = { emitted: 0, closed: 0, doubleClosed: 0, maxAhead: 0, tornDown: false, closedTimestamps: [] };
  const source = pullSource<NodeFrame>((p) => {
    void (async () => {
      for (let i = 0; i < n; i++) {
        await p.waitForDemand();
        if (p.closed) return;
        const frame = options.frame ? options.frame(i, stats) : makeFrame(i, options.width, options.height, stats);
        stats.emitted++;
        if (options.consumed) stats.maxAhead = Math.max(stats.maxAhead, stats.emitted - options.consumed());
        p.next(frame);
      }
      p.complete();
    })();
    return () => {
      stats.tornDown = true;
    };
  });
  return { source, stats };
}

/** Counts of a {@link slowConverter}. */
export interface ConverterStats {
  outputs: number;
  outputsClosed: number;
}

/** Wraps the Node converter: `fromTensor` waits `delayMs` (like a GPU readback); `fail(ts)` makes `toTensor` throw a plain Error. */
export function slowConverter(delayMs: number, fail?: (timestamp: number) => boolean): { converter: FrameConverter<NodeFrame, NodeFrameInfo>; stats: ConverterStats } {
  const stats: ConverterStats = { outputs: 0, outputsClosed: 0 };
  const converter: FrameConverter<NodeFrame, NodeFrameInfo> = {
    ...nodeFrameConverter,
    name: 'slow-node',
    toTensor(frame) {
      if (fail?.(frame.timestamp)) throw new Error('synthetic conversion failure');
      return nodeFrameConverter.toTensor(frame);
    },
    async fromTensor(y: tf.Tensor4D, info: NodeFrameInfo) {
      if (delayMs > 0) await sleep(delayMs);
      const out = await nodeFrameConverter.fromTensor(y, info);
      stats.outputs++;
      out.close = () => {
        stats.outputsClosed++;
      };
      return out;
    },
  };
  return { converter, stats };
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Waits until `cond()` holds (polling), or throws after `timeoutMs`. */
export async function waitUntil(cond: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Node's garbage collector (exposed on demand), for heap measurements. */
export function collectGarbage(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
