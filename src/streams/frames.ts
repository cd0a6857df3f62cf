/**
 * Frames and their converters: how the `restore` operator turns a frame of some kind (a Node byte
 * frame, a browser `VideoFrame`) into a model input tensor and a model output back into a frame.
 * The Node converter is registered here, the VideoFrame one by the browser entry (`src/browser.ts`); the
 * operator picks the first registered converter that accepts the first frame. One output check
 * ({@link outputPixels}) serves the CPU paths of both.
 */
import * as tf from '@tensorflow/tfjs';
import { describeValue, SimpleIRError } from '../core/errors.js';
import { validateImage } from '../core/image.js';

/**
 * A video frame as plain bytes (Node, or any runtime without WebCodecs): 8-bit interleaved RGB or
 * RGBA, row-major, no row padding. The restore operator calls `close` (when present) once it has
 * converted the frame and no longer needs it; frames it emits have no `close` (plain memory).
 */
export interface NodeFrame {
  /** `width * height * channels` samples. */
  data: Uint8Array | Uint8ClampedArray;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** 3 (RGB, the default) or 4 (RGBA; alpha is passed through unchanged). */
  channels?: 3 | 4;
  /** Presentation time in microseconds. */
  timestamp: number;
  /** Display duration in microseconds, when known. */
  duration?: number;
  /** Releases whatever the frame holds (a pooled buffer, a decoder slot); called at most once by the operator. */
  close?: () => void;
}

/** What {@link FrameConverter.toTensor} returns. */
export interface FrameTensor<I> {
  /** The frame as a float32 tensor of shape `[1, height, width, 3]` in [0, 1]; the operator disposes it. */
  x: tf.Tensor4D;
  /**
   * Everything `fromTensor` needs to build the output frame: at least the timestamp and duration.
   * Plain data only (no tensors, no frames): the operator drops it without a call when a frame is abandoned.
   */
  info: I;
}

/**
 * Converts frames of type `F` to model tensors and back. The contract, which the `restore` operator
 * relies on:
 *
 * - `matches(frame)`: true when this converter handles `frame`. Cheap, no side effects, never throws.
 * - `toTensor(frame)`: reads the frame into `{ x, info }` (sync or async). It does NOT close the frame:
 *   the operator calls `close(frame)` right after `toTensor` settles, whether it succeeded or threw.
 *   It throws a {@link SimpleIRError} (`INVALID_IMAGE` for a malformed or closed frame) when it cannot;
 *   the operator adds the frame's timestamp to the error. It must not leave tensors behind when it throws.
 * - `fromTensor(y, info)`: builds a new output frame from `y` (`[1, H, W, 3]` float32 in [0, 1], the
 *   model's output) carrying `info`'s timestamp and duration. `y` belongs to the operator: do not
 *   dispose it, and be done reading it when the returned promise settles (the operator disposes it
 *   then). The new frame belongs to whoever receives it (the operator closes it itself only when
 *   nobody will: after an unsubscribe or an error). It throws `NON_FINITE` when `y` holds NaN or
 *   infinity (broken weights): the built-in converters check while they read `y` anyway (CPU
 *   paths) or with a 4-byte flag written by the export pass (the WebGPU path).
 * - `close(frame)`: releases a frame (input or output). Must not throw; must tolerate a second call.
 * - `timestamp(frame)`: the frame's presentation time in microseconds (used in errors and metrics).
 *
 * Register a converter with {@link registerFrameConverter}; or pass it as `restore(model, { converter })`.
 */
export interface FrameConverter<F, I = unknown> {
  /** A short name for messages, e.g. `node` or `video-frame`. */
  readonly name: string;
  /** True when this converter handles `frame`. */
  matches(frame: unknown): frame is F;
  /** The frame as a `[1, H, W, 3]` float tensor in [0, 1] plus what is needed to rebuild a frame. */
  toTensor(frame: F): FrameTensor<I> | Promise<FrameTensor<I>>;
  /** A new frame from the model output `y` (not disposed here) and the input's `info`. */
  fromTensor(y: tf.Tensor4D, info: I): F | Promise<F>;
  /** Releases a frame; idempotent, never throws. */
  close(frame: F): void;
  /** Presentation time of a frame in microseconds. */
  timestamp(frame: F): number;
}

/** What {@link nodeFrameConverter} keeps between `toTensor` and `fromTensor`. */
export interface NodeFrameInfo {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** Channels of the input frame, repeated in the output. */
  readonly channels: 3 | 4;
  /** Timestamp of the input (microseconds). */
  readonly timestamp: number;
  /** Duration of the input (microseconds), if it had one. */
  readonly duration: number | undefined;
  /** The input's alpha plane (RGBA input only), copied to the output unchanged. */
  readonly alpha: Uint8Array | undefined;
}

function isBytes(x: unknown): x is Uint8Array | Uint8ClampedArray {
  return x instanceof Uint8Array || x instanceof Uint8ClampedArray;
}

/** True for a browser `VideoFrame` (which a byte-frame converter must leave alone). */
function isVideoFrame(x: unknown): boolean {
  const VF = (globalThis as { VideoFrame?: abstract new (...args: never[]) => unknown }).VideoFrame;
  return typeof VF === 'function' && x instanceof VF;
}

function invalidFrame(message: string, timestamp: unknown): SimpleIRError {
  return new SimpleIRError('INVALID_IMAGE', `invalid frame: ${message}`, { timestamp });
}

/** The `NON_FINITE` error of the model's output for the frame at `timestamp` (microseconds), for every converter. */
export function nonFiniteOutput(timestamp: number): SimpleIRError {
  return new SimpleIRError(
    'NON_FINITE',
    `the model's output for the frame at ${timestamp} µs holds NaN or infinity: the weights are broken (diverged training?) or a custom converter gave a non-finite input`,
    { timestamp },
  );
}

/**
 * The model's output `values` (float RGB in [0, 1], `[H, W, 3]` interleaved, as `y.data()` gives them)
 * as 8-bit pixels of `channels` samples, rounded (half to even) and clamped: the output check of every
 * built-in converter's CPU path. With 4 channels the fourth sample of pixel `i` is `alpha[i]` (a plane)
 * or `alpha` itself (a constant, e.g. 255 for RGBX).
 * @throws SimpleIRError `NON_FINITE` (with the frame's `timestamp`) when any value is NaN or infinite.
 */
export function outputPixels(values: ArrayLike<number>, channels: 3 | 4, alpha: Uint8Array | number | undefined, timestamp: number): Uint8ClampedArray {
  const n = Math.floor(values.length / 3);
  // A clamped array rounds and clamps on store (NaN would silently become 0).
  const out = new Uint8ClampedArray(n * channels);
  // x * 0 is NaN exactly when x is NaN or infinite: one sum checks every value.
  let check = 0;
  for (let i = 0, j = 0; i < n; i++, j += channels) {
    const r = values[3 * i]!;
    const g = values[3 * i + 1]!;
    const b = values[3 * i + 2]!;
    check += r * 0 + g * 0 + b * 0;
    out[j] = r * 255;
    out[j + 1] = g * 255;
    out[j + 2] = b * 255;
  }
  if (check !== 0) throw nonFiniteOutput(timestamp);
  if (channels === 4) {
    if (typeof alpha === 'number') for (let j = 3; j < out.length; j += 4) out[j] = alpha;
    else if (alpha) for (let i = 0; i < n; i++) out[4 * i + 3] = alpha[i]!;
  }
  return out;
}

/** Node frames already closed through the converter (so that `close` runs once; the frame is not modified). */
const closedFrames = new WeakSet<NodeFrame>();

/** The converter of {@link NodeFrame}s (plain bytes); registered by default. */
export const nodeFrameConverter: FrameConverter<NodeFrame, NodeFrameInfo> = {
  name: 'node',
  matches(frame: unknown): frame is NodeFrame {
    if (frame === null || typeof frame !== 'object' || isVideoFrame(frame)) return false;
    const f = frame as Partial<NodeFrame>;
    return isBytes(f.data) && typeof f.width === 'number' && typeof f.height === 'number' && typeof f.timestamp === 'number';
  },
  toTensor(frame) {
    const channels = frame.channels ?? 3;
    if (!Number.isFinite(frame.timestamp)) throw invalidFrame(`timestamp must be a finite number, got ${String(frame.timestamp)}`, frame.timestamp);
    if (frame.duration !== undefined && !(frame.duration >= 0)) throw invalidFrame(`duration must be >= 0, got ${String(frame.duration)}`, frame.timestamp);
    try {
      validateImage({ data: frame.data, width: frame.width, height: frame.height, channels });
    } catch (e) {
      throw invalidFrame((e as Error).message, frame.timestamp);
    }
    const n = frame.width * frame.height;
    const rgb = new Float32Array(n * 3);
    const alpha = channels === 4 ? new Uint8Array(n) : undefined;
    const d = frame.data;
    for (let i = 0, j = 0; i < n; i++, j += channels) {
      rgb[3 * i] = d[j]! / 255;
      rgb[3 * i + 1] = d[j + 1]! / 255;
      rgb[3 * i + 2] = d[j + 2]! / 255;
      if (alpha) alpha[i] = d[j + 3]!;
    }
    const x = tf.tensor4d(rgb, [1, frame.height, frame.width, 3], 'float32');
    return { x, info: { width: frame.width, height: frame.height, channels, timestamp: frame.timestamp, duration: frame.duration, alpha } };
  },
  async fromTensor(y, info) {
    const v = await y.data();
    const { width, height, channels, alpha } = info;
    const n = width * height;
    if (v.length !== n * 3) throw new SimpleIRError('INVALID_IMAGE', `model output has ${v.length} values, ${width}x${height}x3 expected`, { timestamp: info.timestamp });
    const out = outputPixels(v, channels, alpha, info.timestamp);
    const frame: NodeFrame = { data: new Uint8Array(out.buffer), width, height, channels, timestamp: info.timestamp };
    if (info.duration !== undefined) frame.duration = info.duration;
    return frame;
  },
  close(frame) {
    if (typeof frame.close !== 'function' || closedFrames.has(frame)) return;
    closedFrames.add(frame);
    try {
      frame.close();
    } catch {
      // A frame that fails to release is not the stream's problem.
    }
  },
  timestamp(frame) {
    return frame.timestamp;
  },
};

type AnyConverter = FrameConverter<any, any>;

const registry: AnyConverter[] = [nodeFrameConverter];

/**
 * Adds a converter to the registry the `restore` operator chooses from (first match wins, in
 * registration order; {@link nodeFrameConverter} is registered first). Registering the same
 * converter twice has no effect. Returns a function that removes it again.
 */
export function registerFrameConverter<F, I>(converter: FrameConverter<F, I>): () => void {
  const c = converter as Partial<FrameConverter<F, I>> | null;
  const missing = ['matches', 'toTensor', 'fromTensor', 'close', 'timestamp'].filter((k) => typeof (c as Record<string, unknown> | null)?.[k] !== 'function');
  if (typeof c !== 'object' || c === null || typeof c.name !== 'string' || missing.length > 0) {
    throw new SimpleIRError(
      'INVALID_ARGUMENT',
      `registerFrameConverter takes a FrameConverter { name, matches, toTensor, fromTensor, close, timestamp }; got ${describeValue(converter)}${missing.length > 0 && c ? ` lacking ${missing.join(', ')}` : ''}`,
    );
  }
  if (!registry.includes(converter)) registry.push(converter);
  return () => {
    const i = registry.indexOf(converter);
    if (i >= 0) registry.splice(i, 1);
  };
}

/**
 * The first registered converter that accepts `frame`.
 * @throws SimpleIRError `UNSUPPORTED_FORMAT` when none does (naming the registered converters).
 */
export function selectFrameConverter<F>(frame: F): FrameConverter<F, unknown> {
  const c = registry.find((r) => r.matches(frame));
  if (!c) {
    const kind = frame === null ? 'null' : typeof frame === 'object' ? (frame as object).constructor?.name ?? 'object' : typeof frame;
    throw new SimpleIRError(
      'UNSUPPORTED_FORMAT',
      `no frame converter accepts a ${kind}; registered: ${registry.map((r) => r.name).join(', ')} (a NodeFrame needs data as a Uint8Array or Uint8ClampedArray of 8-bit samples, width, height and timestamp; in the browser import simpleir-stream/browser, which registers the VideoFrame converter, or pass restore(model, { converter }))`,
    );
  }
  return c as FrameConverter<F, unknown>;
}
