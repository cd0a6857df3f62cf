/**
 * Browser frames for the `restore` operator: a `VideoFrame` (or an `ImageBitmap`, `ImageData`, canvas)
 * to a model tensor and the model output back to a `VideoFrame` with the input's timestamp and duration.
 * On the webgpu backend the pixels never leave the GPU; elsewhere a CPU path does the same job.
 */
import * as tf from '@tensorflow/tfjs';
import { describeValue, SimpleIRError } from '../../../core/errors.js';
import { nonFiniteOutput, outputPixels, type FrameConverter, type FrameTensor } from '../../../streams/frames.js';
import { canReadFramePixels, readFramePixels } from './frame-pixels.js';
import { assertDeviceAlive, deviceLostError, lossAfterFailure, tfjsDevice, tfjsFrameDevice, unlessLost } from '../gpu/device.js';
import { frameExporter } from '../gpu/export-frame.js';
import { frameImporter } from '../gpu/import-frame.js';

/** A frame the browser converter accepts. Outputs are always `VideoFrame`s. */
export type BrowserFrame = VideoFrame | ImageBitmap | ImageData | HTMLCanvasElement | OffscreenCanvas;

/**
 * How pixels move. `gpu`: `importExternalTexture` + a compute pass in, `dataToGPU()` + a render pass to
 * a WebGPU canvas out, no CPU readback (webgpu backend only). `cpu`: `VideoFrame.copyTo` and the
 * YUV matrix in JavaScript (8-bit formats) or `createImageBitmap` + `tf.browser.fromPixels` (other
 * frames) in, a readback into an RGBX `VideoFrame` out (any backend).
 */
export type FramePath = 'gpu' | 'cpu';

/** Options of {@link createVideoFrameConverter}. */
export interface VideoFrameConverterOptions {
  /** `auto` (default): `gpu` where the active backend is webgpu with video import, else `cpu`. A forced `gpu` throws `BACKEND_UNAVAILABLE` where it cannot run. */
  readonly path?: 'auto' | FramePath;
}

/** What the browser converter keeps between `toTensor` and `fromTensor`. */
export interface VideoFrameInfo {
  /** Presentation time of the input in microseconds. */
  readonly timestamp: number;
  /** Duration of the input in microseconds, when it had one. */
  readonly duration: number | undefined;
  /** Width of the tensor (the frame's display width). */
  readonly width: number;
  /** Height of the tensor (the frame's display height). */
  readonly height: number;
  /** The path that read the input. */
  readonly path: FramePath;
}

/** Arrival times of frames that carry no timestamp (bitmaps, canvases, ImageData), in microseconds. */
const arrivals = new WeakMap<object, number>();

function isInstance<T>(x: unknown, name: string): x is T {
  const C = (globalThis as unknown as Record<string, unknown>)[name];
  return typeof C === 'function' && x instanceof (C as abstract new (...a: never[]) => unknown);
}

/** True for every kind of {@link BrowserFrame}. */
export function isBrowserFrame(x: unknown): x is BrowserFrame {
  return (
    isInstance<VideoFrame>(x, 'VideoFrame') ||
    isInstance<ImageBitmap>(x, 'ImageBitmap') ||
    isInstance<ImageData>(x, 'ImageData') ||
    isInstance<HTMLCanvasElement>(x, 'HTMLCanvasElement') ||
    isInstance<OffscreenCanvas>(x, 'OffscreenCanvas')
  );
}

function isVideoFrame(x: unknown): x is VideoFrame {
  return isInstance<VideoFrame>(x, 'VideoFrame');
}

/** Presentation time in microseconds: the frame's own, or the time it was first seen. */
export function frameTimestamp(frame: BrowserFrame): number {
  if (isVideoFrame(frame)) return frame.timestamp;
  if (!isBrowserFrame(frame)) {
    throw new SimpleIRError('INVALID_ARGUMENT', `frameTimestamp takes a VideoFrame, ImageBitmap, ImageData or canvas, got ${describeValue(frame)}`);
  }
  let t = arrivals.get(frame);
  if (t === undefined) {
    t = Math.round(performance.now() * 1000);
    arrivals.set(frame, t);
  }
  return t;
}

/** Display size of a frame; throws `INVALID_IMAGE` for a closed or empty one. */
function frameSize(frame: BrowserFrame): { width: number; height: number } {
  const [width, height] = isVideoFrame(frame) ? [frame.displayWidth, frame.displayHeight] : [frame.width, frame.height];
  if (isVideoFrame(frame) && frame.format === null && frame.codedWidth === 0) {
    throw new SimpleIRError('INVALID_IMAGE', 'the VideoFrame is closed: a frame can be converted only before close()', { timestamp: frame.timestamp });
  }
  if (!(width > 0 && height > 0)) {
    throw new SimpleIRError('INVALID_IMAGE', `the frame is empty (${width}x${height}) or closed`, { timestamp: frameTimestamp(frame) });
  }
  return { width, height };
}

/** A `VideoFrame` of any browser frame (the same object when it is one; else a new one the caller closes). */
function asVideoFrame(frame: BrowserFrame, timestamp: number): VideoFrame {
  if (isVideoFrame(frame)) return frame;
  if (isInstance<ImageData>(frame, 'ImageData')) {
    return new VideoFrame(frame.data, { format: 'RGBA', codedWidth: frame.width, codedHeight: frame.height, timestamp });
  }
  return new VideoFrame(frame, { timestamp });
}

function gpuDevice(required: boolean): GPUDevice | null {
  const device = tfjsFrameDevice();
  if (!device && required) {
    throw new SimpleIRError(
      'BACKEND_UNAVAILABLE',
      `the gpu frame path needs the webgpu backend with importExternalTexture (active backend: ${tf.getBackend()}); use path 'auto' or 'cpu'`,
    );
  }
  if (device) assertDeviceAlive(device);
  return device;
}

/**
 * `work` (a conversion), with its failure reported as `DEVICE_LOST` when tfjs's WebGPU device is
 * lost: then nothing computed on it can be trusted, whichever path read the frame.
 */
async function onLiveDevice<T>(work: () => T | Promise<T>): Promise<T> {
  const device = tfjsDevice();
  if (device) assertDeviceAlive(device);
  try {
    return await work();
  } catch (e) {
    if (!device || e instanceof SimpleIRError) throw e;
    const info = await lossAfterFailure(device);
    if (info) throw deviceLostError(info, e);
    throw e;
  }
}

function gpuToTensor(device: GPUDevice, frame: BrowserFrame, width: number, height: number, timestamp: number): tf.Tensor4D {
  const video = asVideoFrame(frame, timestamp);
  try {
    const buffer = frameImporter(device).import(video, width, height);
    // Without zeroCopy tfjs copies the buffer into one of its own on the queue (submitted at once),
    // so the importer can reuse its buffer for the next frame and tfjs owns the tensor's memory.
    return tf.tensor({ buffer }, [1, height, width, 3], 'float32') as tf.Tensor4D;
  } finally {
    if (video !== frame) video.close();
  }
}

async function cpuToTensor(frame: BrowserFrame, width: number, height: number): Promise<tf.Tensor4D> {
  if (isVideoFrame(frame) && canReadFramePixels(frame)) {
    return tf.tensor4d(await readFramePixels(frame), [1, height, width, 3], 'float32');
  }
  const bitmap = await createImageBitmap(frame);
  try {
    return tf.tidy(() => tf.div(tf.browser.fromPixels(bitmap, 3), 255).expandDims(0) as tf.Tensor4D);
  } finally {
    bitmap.close();
  }
}

function frameInit(info: VideoFrameInfo): VideoFrameInit {
  return info.duration === undefined ? { timestamp: info.timestamp } : { timestamp: info.timestamp, duration: info.duration };
}

/** `y.dataToGPU()`; a tensor whose values are still on the CPU (never uploaded) goes through a kernel first. */
function toGPU(y: tf.Tensor4D): tf.GPUData {
  try {
    return y.dataToGPU();
  } catch {
    const onGpu = tf.tidy(() => tf.mul(y, 1));
    try {
      return onGpu.dataToGPU();
    } finally {
      onGpu.dispose();
    }
  }
}

/**
 * The output frame, made on the GPU; resolves once the GPU has done the frame's work, so that a
 * frame counts as in work (for the live mode's dropping and for `maxInFlight`) until it really is
 * done. That wait is the mapping of the export's 4-byte finiteness flag (no pixel comes back).
 */
async function gpuFromTensor(device: GPUDevice, y: tf.Tensor4D, info: VideoFrameInfo): Promise<VideoFrame> {
  const { buffer, tensorRef } = toGPU(y);
  let exported: ReturnType<ReturnType<typeof frameExporter>['export']>;
  try {
    if (!buffer) throw new Error('dataToGPU() gave no GPU buffer');
    exported = frameExporter(device).export(buffer, info.width, info.height, frameInit(info));
  } finally {
    // The draw is already submitted: tfjs may reuse the buffer for later work, queued after it.
    tensorRef.dispose();
  }
  const { frame } = exported;
  let finite: boolean;
  try {
    finite = await unlessLost(device, exported.finite);
  } catch (e) {
    frame.close();
    throw e;
  }
  if (!finite) {
    frame.close();
    throw nonFiniteOutput(info.timestamp);
  }
  return frame;
}

/** The output frame from a readback of `y`: RGBX bytes, rounded and clamped; NaN or infinity is `NON_FINITE`. */
async function cpuFromTensor(y: tf.Tensor4D, info: VideoFrameInfo): Promise<VideoFrame> {
  const { width, height } = info;
  const rgbx = outputPixels(await y.data(), 4, 255, info.timestamp);
  const init: VideoFrameBufferInit = { format: 'RGBX', codedWidth: width, codedHeight: height, timestamp: info.timestamp };
  if (info.duration !== undefined) init.duration = info.duration;
  return new VideoFrame(rgbx, init);
}

function closeFrame(frame: BrowserFrame): void {
  try {
    if (isVideoFrame(frame) || isInstance<ImageBitmap>(frame, 'ImageBitmap')) frame.close();
  } catch {
    // Closing is best effort: a frame that cannot be closed is already unusable.
  }
}

/**
 * A converter of browser frames for `restore(model, { converter })`. Input `VideoFrame`s in any
 * format the browser decodes to (I420, NV12, RGBA, BGRA, ...) are converted to RGB by the browser per
 * their `colorSpace`; outputs are `VideoFrame`s with the input's timestamp and duration.
 * `close` closes `VideoFrame`s and `ImageBitmap`s; canvases and `ImageData` need no release.
 */
export function createVideoFrameConverter(options: VideoFrameConverterOptions = {}): FrameConverter<BrowserFrame, VideoFrameInfo> {
  const choice = options.path ?? 'auto';
  if (choice !== 'auto' && choice !== 'gpu' && choice !== 'cpu') {
    throw new SimpleIRError('INVALID_ARGUMENT', `path must be 'auto', 'gpu' or 'cpu', got ${JSON.stringify(choice)}`);
  }
  const device = (): GPUDevice | null => (choice === 'cpu' ? null : gpuDevice(choice === 'gpu'));
  return {
    name: choice === 'auto' ? 'video-frame' : `video-frame (${choice})`,
    matches: isBrowserFrame,
    async toTensor(frame): Promise<FrameTensor<VideoFrameInfo>> {
      const { width, height } = frameSize(frame);
      const timestamp = frameTimestamp(frame);
      const duration = isVideoFrame(frame) ? (frame.duration ?? undefined) : undefined;
      return onLiveDevice(async () => {
        const gpu = device();
        const x = gpu ? gpuToTensor(gpu, frame, width, height, timestamp) : await cpuToTensor(frame, width, height);
        return { x, info: { timestamp, duration, width, height, path: gpu ? 'gpu' : 'cpu' } };
      });
    },
    async fromTensor(y, info) {
      const [, h, w, c] = y.shape;
      if (h !== info.height || w !== info.width || c !== 3) {
        throw new SimpleIRError('INVALID_IMAGE', `model output [${y.shape}] does not match the frame (${info.width}x${info.height})`, { timestamp: info.timestamp });
      }
      return onLiveDevice(() => {
        const gpu = device();
        return gpu ? gpuFromTensor(gpu, y, info) : cpuFromTensor(y, info);
      });
    },
    close: closeFrame,
    timestamp: frameTimestamp,
  };
}

/** The default browser converter (`path: 'auto'`); the browser entry (`simpleir-stream/browser`) registers it with the `restore` operator. */
export const videoFrameConverter: FrameConverter<BrowserFrame, VideoFrameInfo> = createVideoFrameConverter();
