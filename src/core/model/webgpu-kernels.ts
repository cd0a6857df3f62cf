/**
 * Custom WebGPU kernels of the forward pass: chains of small per-pixel operations run as one compute
 * program each on the webgpu backend (one dispatch instead of five to eight), registered with tfjs by name.
 */
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend, WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';

/** Name of the per-pixel channel normalisation kernel (registered for the webgpu backend only). */
export const NORMALISE_KERNEL = 'SimpleIRNormalise';

/** Name of the per-pixel channel mean and maximum kernel (registered for the webgpu backend only). */
export const MEAN_MAX_KERNEL = 'SimpleIRChannelMeanMax';

/** Variance offset of the channel normalisation (inside the square root). */
export const NORMALISE_EPSILON = 1e-6;

const WORKGROUP = 64;

/**
 * A program with one thread per pixel of an input `[..., C]`: the dispatch covers every axis but the
 * channels; `outputShape` is the input's with the last axis `outChannels` (or `C` when absent).
 */
abstract class PerPixelProgram implements WebGPUProgram {
  readonly variableNames = ['x'];
  readonly outputShape: number[];
  abstract readonly shaderKey: string;
  readonly dispatchLayout: { x: number[] };
  readonly dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];

  /** `shape`: the input's, [..., C], of rank 2 to 4. */
  constructor(shape: number[], outChannels?: number) {
    this.outputShape = [...shape.slice(0, -1), outChannels ?? shape[shape.length - 1]!];
    this.dispatchLayout = { x: shape.slice(0, -1).map((_, i) => i) };
    const pixels = shape.slice(0, -1).reduce((a, b) => a * b, 1);
    this.dispatch = [Math.ceil(pixels / WORKGROUP), 1, 1];
  }

  abstract getUserCode(): string;
}

/**
 * (x - mean) / sqrt(variance + eps) over the last axis, one thread per pixel: the two-pass mean and
 * variance that `tf.moments` computes, then the scaled difference, in one pass over the pixel's channels.
 */
class NormaliseProgram extends PerPixelProgram {
  readonly shaderKey = 'simpleir_normalise';

  getUserCode(): string {
    const rank = this.outputShape.length;
    const pixels = Array.from({ length: rank - 1 }, (_, i) => `uniforms.outShape[${i}]`).join(' * ');
    return `
      fn main(index : i32) {
        let c = uniforms.outShape[${rank - 1}];
        if (index >= ${pixels}) {
          return;
        }
        let base = index * c;
        var mean = 0.0;
        for (var i = 0; i < c; i++) {
          mean += x[base + i];
        }
        mean = mean / f32(c);
        var variance = 0.0;
        for (var i = 0; i < c; i++) {
          let d = x[base + i] - mean;
          variance += d * d;
        }
        let scale = inverseSqrt(variance / f32(c) + ${NORMALISE_EPSILON.toExponential()});
        for (var i = 0; i < c; i++) {
          result[base + i] = (x[base + i] - mean) * scale;
        }
      }
    `;
  }
}

/** The mean and the maximum over the last axis, side by side ([..., C] -> [..., 2]), one thread per pixel. */
class MeanMaxProgram extends PerPixelProgram {
  readonly shaderKey = 'simpleir_mean_max';

  /** `shape`: the input's, [..., C], of rank 2 to 4. */
  constructor(shape: number[]) {
    super(shape, 2);
  }

  getUserCode(): string {
    const rank = this.outputShape.length;
    const pixels = Array.from({ length: rank - 1 }, (_, i) => `uniforms.outShape[${i}]`).join(' * ');
    return `
      fn main(index : i32) {
        if (index >= ${pixels}) {
          return;
        }
        let c = uniforms.xShape[${rank - 1}];
        let base = index * c;
        var sum = 0.0;
        var largest = x[base];
        for (var i = 0; i < c; i++) {
          let v = x[base + i];
          sum += v;
          largest = max(largest, v);
        }
        result[index * 2] = sum / f32(c);
        result[index * 2 + 1] = largest;
      }
    `;
  }
}


/** Mean and maximum over the channels of a [..., C] float32 tensor, as [..., 2], by the custom kernel (see {@link webgpuKernelsUsable}). */
export function channelMeanMaxOnWebGPU<T extends tf.Tensor>(x: T): T {
  registerKernels();
  return tf.engine().runKernel(MEAN_MAX_KERNEL, { x }) as T;
}

/** The programs by kernel name: each takes the input's shape. */
const PROGRAMS: Record<string, new (shape: number[]) => WebGPUProgram> = {
  [NORMALISE_KERNEL]: NormaliseProgram,
  [MEAN_MAX_KERNEL]: MeanMaxProgram,
};

/**
 * Registers the kernels with tfjs for the webgpu backend, once (at first use rather than at import, so
 * that no bundler's tree shaking can drop the registration).
 */
function registerKernels(): void {
  for (const [kernelName, Program] of Object.entries(PROGRAMS)) {
    if (tf.getKernel(kernelName, 'webgpu')) continue;
    tf.registerKernel({
      kernelName,
      backendName: 'webgpu',
      kernelFunc: ({ inputs, backend }) => {
        const x = inputs['x'] as tf.TensorInfo;
        return (backend as WebGPUBackend).runWebGPUProgram(new Program([...x.shape]), [x], 'float32');
      },
    });
  }
}

/**
 * True where the kernels of this module ({@link normaliseOnWebGPU}, {@link channelMeanMaxOnWebGPU}) may run: on the webgpu backend, outside a gradient tape (the
 * kernel has no gradient; training differentiates the formulation in tfjs operations instead).
 */
export function webgpuKernelsUsable(): boolean {
  return tf.getBackend() === 'webgpu' && tf.engine().state.gradientDepth === 0;
}

/** Channel normalisation of a [..., C] float32 tensor by the custom kernel (see {@link webgpuKernelsUsable}). */
export function normaliseOnWebGPU<T extends tf.Tensor>(x: T): T {
  registerKernels();
  return tf.engine().runKernel(NORMALISE_KERNEL, { x }) as T;
}
