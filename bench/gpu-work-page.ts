/**
 * Page side of `npm run bench:gpu-work` (bench/gpu-work.ts) and of test/browser/gpu-work.test.ts:
 * counts the WebGPU work of restoring one frame (compute dispatches, buffers created, bytes written to
 * the GPU, bytes read back) by wrapping the WebGPU API's prototype methods, which every device uses.
 */
import * as tf from '@tensorflow/tfjs';
import { SimpleIR, selectBackend } from '../src/index';
import type { PresetName } from '../src/core/config';

/** WebGPU work counted over some span of time. */
export interface GpuWork {
  /** `dispatchWorkgroups` calls: one per compute program run. */
  dispatches: number;
  /** `createBuffer` calls (tfjs pools buffers: after a warm-up most are reused). */
  buffersCreated: number;
  /** Bytes given to `queue.writeBuffer` (uniforms) plus buffers created mapped for writing (tensor uploads). */
  bytesWritten: number;
  /** Bytes of buffers mapped for reading (`mapAsync(READ)`): readbacks to the CPU. */
  bytesRead: number;
  /** `queue.submit` calls. */
  submits: number;
}

/** The counts of one restored frame, and what it was measured on. */
export interface FrameWork {
  preset: PresetName;
  width: number;
  height: number;
  adapter: string;
  fallbackAdapter: boolean;
  /** Whether the GPU ran no workgroups (a dry run: same counts, no results; see `countFrameWork`). */
  dryRun: boolean;
  /** The `tileSize` option of the restore (`'auto'` unless asked). */
  tileSize: number | 'auto';
  /** Wall time of the warm-up frame and of each counted frame (ms; not meaningful on SwiftShader). */
  warmMs: number;
  ms: number[];
  /** One entry per counted frame, after the warm-up. */
  frames: GpuWork[];
  /** Live tensors before the first frame and after the last (equal when nothing leaks). */
  tensorsBefore: number;
  tensorsAfter: number;
}

declare global {
  interface Window {
    /**
     * Restores `frames` + 1 frames of `preset` at `width` x `height` on webgpu; counts all but the first.
     * With `dryRun`, every dispatch is counted but issued with zero workgroups, so the GPU computes
     * nothing: tfjs decides its work without reading anything back, so the counts are the same, and a
     * 1080p frame on a software adapter is counted in seconds instead of many minutes. Outputs are then
     * meaningless (the model's outputs are checked by the model tests, not here).
     */
    countFrameWork: (args: { preset: PresetName; width: number; height: number; frames: number; dryRun?: boolean; tileSize?: number | 'auto' }) => Promise<FrameWork>;
    /** Counts, on webgpu, the upload of `n` float32 values plus one add, and then their readback (checks the counter). */
    countKnownWork: (n: number) => Promise<{ upload: GpuWork; readback: GpuWork }>;
  }
}

function zero(): GpuWork {
  return { dispatches: 0, buffersCreated: 0, bytesWritten: 0, bytesRead: 0, submits: 0 };
}

/** Bytes of the `writeBuffer` source range: `size` and `dataOffset` count elements of a typed array, bytes of a buffer. */
function writtenBytes(data: ArrayBufferView | ArrayBuffer, dataOffset = 0, size?: number): number {
  const perElement = ArrayBuffer.isView(data) && 'BYTES_PER_ELEMENT' in data ? (data as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT : 1;
  const total = data.byteLength / perElement;
  return (size ?? total - dataOffset) * perElement;
}

/**
 * Starts counting the WebGPU work of every device of the page into the returned record; `stop()`
 * restores the API. Wraps the prototypes, so it counts devices created before it started too. With
 * `dryRun`, dispatches are issued with zero workgroups (counted, not computed).
 */
export function startGpuWorkCount(dryRun = false): { work: GpuWork; stop: () => void } {
  const work = zero();
  const undo: (() => void)[] = [];
  const wrap = <T extends object>(proto: T, name: string, count: (self: T, args: unknown[]) => void, replaceArgs?: (args: unknown[]) => unknown[]): void => {
    const target = proto as Record<string, unknown>;
    const original = target[name] as (...a: unknown[]) => unknown;
    target[name] = function (this: T, ...args: unknown[]) {
      count(this, args);
      return original.apply(this, replaceArgs ? replaceArgs(args) : args);
    };
    undo.push(() => {
      target[name] = original;
    });
  };
  wrap(GPUComputePassEncoder.prototype, 'dispatchWorkgroups', () => void work.dispatches++, dryRun ? () => [0, 0, 0] : undefined);
  wrap(GPUDevice.prototype, 'createBuffer', (_, [d]) => {
    const desc = d as GPUBufferDescriptor;
    work.buffersCreated++;
    if (desc.mappedAtCreation && (desc.usage & GPUBufferUsage.MAP_READ) === 0) work.bytesWritten += desc.size;
  });
  wrap(GPUQueue.prototype, 'writeBuffer', (_, args) => {
    work.bytesWritten += writtenBytes(args[2] as ArrayBufferView, args[3] as number | undefined, args[4] as number | undefined);
  });
  wrap(GPUQueue.prototype, 'submit', () => void work.submits++);
  wrap(GPUBuffer.prototype, 'mapAsync', (self, [mode, offset, size]) => {
    if (((mode as number) & GPUMapMode.READ) !== 0) work.bytesRead += (size as number | undefined) ?? self.size - ((offset as number | undefined) ?? 0);
  });
  return { work, stop: () => undo.reverse().forEach((u) => u()) };
}

/** A [H, W, 3] float frame computed on the GPU (a smooth pattern), so that no upload belongs to the counted frames. */
function frameOnGpu(height: number, width: number): tf.Tensor3D {
  return tf.tidy(() => {
    const rows = tf.div(tf.range(0, height, 1, 'float32'), height).reshape([height, 1, 1]);
    const cols = tf.div(tf.range(0, width, 1, 'float32'), width).reshape([1, width, 1]);
    const rgb = tf.tensor1d([0.9, 0.5, 0.2]).reshape([1, 1, 3]);
    return tf.clipByValue(tf.add(tf.mul(tf.add(rows, cols), rgb), 0.05), 0, 1) as tf.Tensor3D;
  });
}

/** Vendor, architecture and description of an adapter (`adapter.info`, missing from older type definitions). */
function adapterName(adapter: GPUAdapter | null): string {
  const info = (adapter as { info?: Record<string, string> } | null)?.info;
  return info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') : 'none';
}

/** The parts of tfjs's webgpu backend that flush its recorded work (not in its public types). */
interface WebGPUQueueOwner {
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  device: GPUDevice;
}

/** Submits what tfjs recorded on webgpu (closing its open compute pass first) and waits until the GPU has run it. */
export async function gpuDone(): Promise<void> {
  const backend = tf.backend() as unknown as WebGPUQueueOwner;
  backend.ensureCommandEncoderReady();
  backend.endComputePassEncoder();
  backend.submitQueue();
  await backend.device.queue.onSubmittedWorkDone();
}

/** Counts the GPU work of `run`. */
async function counting(run: () => Promise<void>, dryRun = false): Promise<GpuWork> {
  const { work, stop } = startGpuWorkCount(dryRun);
  try {
    await run();
  } finally {
    stop();
  }
  return work;
}

window.countKnownWork = async (n) => {
  await selectBackend('webgpu', { onWarning: () => undefined });
  let y: tf.Tensor | undefined;
  const upload = await counting(async () => {
    y = tf.tidy(() => tf.add(tf.tensor1d(new Float32Array(n).fill(0.5)), 1));
    await gpuDone();
  });
  const readback = await counting(async () => {
    await y!.data();
  });
  y!.dispose();
  return { upload, readback };
};

window.countFrameWork = async ({ preset, width, height, frames, dryRun = false, tileSize = 'auto' }) => {
  const info = await selectBackend('webgpu', { onWarning: () => undefined });
  const adapter = await navigator.gpu.requestAdapter();
  const model = await SimpleIR.load(preset, { weightsBaseUrl: '/weights/' });
  const x = frameOnGpu(height, width);
  await gpuDone();
  const tensorsBefore = tf.memory().numTensors;
  const restoreOne = async (): Promise<number> => {
    const t0 = performance.now();
    const y = await model.restore(x, { tileSize });
    await gpuDone();
    y.dispose();
    return performance.now() - t0;
  };
  let warmMs = 0;
  await counting(async () => void (warmMs = await restoreOne()), dryRun);
  const counted: GpuWork[] = [];
  const ms: number[] = [];
  for (let i = 0; i < frames; i++) {
    counted.push(await counting(async () => void ms.push(await restoreOne()), dryRun));
  }
  const tensorsAfter = tf.memory().numTensors;
  x.dispose();
  model.dispose();
  return {
    preset,
    width,
    height,
    adapter: adapterName(adapter),
    fallbackAdapter: info.fallbackAdapter,
    dryRun,
    tileSize,
    warmMs,
    ms,
    frames: counted,
    tensorsBefore,
    tensorsAfter,
  };
};
