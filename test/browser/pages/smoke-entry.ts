/**
 * Browser entry of the smoke test (bundled by test/browser/harness.ts).
 * Exposes `window.runSmoke()`, which checks WebGPU, the three tfjs backends and WebCodecs,
 * and also leaves its result on `window.smokeResult`.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export interface SmokeResult {
  crossOriginIsolated: boolean;
  adapter: { isFallbackAdapter: boolean | null; vendor: string; architecture: string; description: string; features: string[] } | null;
  setBackendWebgpu: boolean;
  backendAfterSet: string;
  wasmMultithread: boolean | null;
  conv: Record<'webgpu' | 'cpu' | 'wasm', number[]>;
  convMs: Record<'webgpu' | 'cpu' | 'wasm', number>;
  outShape: number[];
  numTensorsLeft: number;
  videoFrame: {
    width: number;
    height: number;
    format: string | null;
    formatAfterClose: string | null;
    webCodecs: { VideoEncoder: boolean; VideoDecoder: boolean; MediaStreamTrackProcessor: boolean };
    /** Pixel (0,0) of the frame copied into a WebGPU texture on tfjs's device (copyExternalImageToTexture). */
    gpuPixel: number[] | null;
    gpuError: string | null;
  };
}

declare global {
  interface Window {
    runSmoke: () => Promise<SmokeResult>;
    smokeResult?: SmokeResult;
  }
}

/** Tiny seeded generator (mulberry32): the smoke test stays independent of the SDK's code. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const X_SHAPE: [number, number, number, number] = [1, 16, 16, 4];
const W_SHAPE: [number, number, number, number] = [3, 3, 4, 8];

function fill(n: number, rand: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rand() * 2 - 1;
  return out;
}

async function conv(backend: 'webgpu' | 'cpu' | 'wasm', x: Float32Array, w: Float32Array): Promise<{ data: number[]; shape: number[]; ms: number }> {
  if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend('${backend}') failed`);
  await tf.ready();
  const t0 = performance.now();
  const y = tf.tidy(() => tf.conv2d(tf.tensor4d(x, X_SHAPE), tf.tensor4d(w, W_SHAPE), 1, 'same'));
  const data = Array.from(await y.data());
  const shape = y.shape;
  y.dispose();
  return { data, shape, ms: performance.now() - t0 };
}

// Minimal structural WebGPU types (the project does not pull @webgpu/types into its global types).
interface GpuLike {
  requestAdapter(): Promise<{ info?: Record<string, unknown>; features: Set<string> } | null>;
}

async function videoFrameCheck(): Promise<SmokeResult['videoFrame']> {
  const canvas = document.createElement('canvas');
  canvas.width = 64;
  canvas.height = 16;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2d context');
  ctx.fillStyle = 'rgb(200, 100, 50)';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const frame = new VideoFrame(canvas, { timestamp: 0 });
  const width = frame.codedWidth;
  const height = frame.codedHeight;
  const format = frame.format;

  // Copy the frame into a texture on tfjs's own device: needs the Vulkan/ANGLE flags.
  let gpuPixel: number[] | null = null;
  let gpuError: string | null = null;
  try {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const device = (tf.backend() as any).device;
    if (!device) throw new Error('the tfjs backend has no GPU device');
    // GPUTextureUsage.COPY_SRC | COPY_DST | RENDER_ATTACHMENT = 1 | 2 | 16; GPUBufferUsage.MAP_READ | COPY_DST = 1 | 8; GPUMapMode.READ = 1
    device.pushErrorScope('validation');
    const texture = device.createTexture({ size: [width, height], format: 'rgba8unorm', usage: 1 | 2 | 16 });
    device.queue.copyExternalImageToTexture({ source: frame }, { texture }, [width, height]);
    const buffer = device.createBuffer({ size: 256 * height, usage: 1 | 8 });
    const encoder = device.createCommandEncoder();
    encoder.copyTextureToBuffer({ texture }, { buffer, bytesPerRow: 256 }, [width, height]);
    device.queue.submit([encoder.finish()]);
    const err = await device.popErrorScope();
    if (err) throw new Error(err.message);
    await buffer.mapAsync(1);
    gpuPixel = Array.from(new Uint8Array(buffer.getMappedRange(0, 4)));
    buffer.unmap();
    buffer.destroy();
    texture.destroy();
  } catch (e) {
    gpuError = e instanceof Error ? e.message : String(e);
  }

  frame.close();
  return {
    width,
    height,
    format,
    formatAfterClose: frame.format,
    webCodecs: {
      VideoEncoder: typeof VideoEncoder === 'function',
      VideoDecoder: typeof VideoDecoder === 'function',
      MediaStreamTrackProcessor: 'MediaStreamTrackProcessor' in window,
    },
    gpuPixel,
    gpuError,
  };
}

async function runSmoke(): Promise<SmokeResult> {
  setWasmPaths('/wasm/');
  const gpu = (navigator as unknown as { gpu?: GpuLike }).gpu;
  const adapterObj = gpu ? await gpu.requestAdapter() : null;
  const info = adapterObj?.info ?? {};
  const adapter = adapterObj
    ? {
        isFallbackAdapter: typeof info.isFallbackAdapter === 'boolean' ? info.isFallbackAdapter : null,
        vendor: String(info.vendor ?? ''),
        architecture: String(info.architecture ?? ''),
        description: String(info.description ?? ''),
        features: [...adapterObj.features].sort(),
      }
    : null;

  const rand = seeded(1234);
  const x = fill(X_SHAPE.reduce((a, b) => a * b), rand);
  const w = fill(W_SHAPE.reduce((a, b) => a * b), rand);

  const setBackendWebgpu = await tf.setBackend('webgpu');
  const backendAfterSet = tf.getBackend();
  const before = tf.memory().numTensors;
  const gpuRun = await conv('webgpu', x, w);
  const cpuRun = await conv('cpu', x, w);
  const wasmRun = await conv('wasm', x, w);
  const wasmMultithread = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT');
  // Leave the page on webgpu, the SDK's default.
  await tf.setBackend('webgpu');
  const videoFrame = await videoFrameCheck();

  const result: SmokeResult = {
    crossOriginIsolated: self.crossOriginIsolated,
    adapter,
    setBackendWebgpu,
    backendAfterSet,
    wasmMultithread,
    conv: { webgpu: gpuRun.data, cpu: cpuRun.data, wasm: wasmRun.data },
    convMs: { webgpu: gpuRun.ms, cpu: cpuRun.ms, wasm: wasmRun.ms },
    outShape: gpuRun.shape,
    numTensorsLeft: tf.memory().numTensors - before,
    videoFrame,
  };
  window.smokeResult = result;
  return result;
}

window.runSmoke = runSmoke;
