/**
 * Page side of the browser peer (`npm run bench -- --peer --browser`, test/browser/onnx-peer.test.ts):
 * the SDK (tfjs, wasm or webgpu backend) and onnxruntime-web (wasm or WebGPU execution provider, on
 * weights/<preset>.onnx) on the same frame, a validation photograph, in the same cross-origin-isolated
 * page, with the SDK's padding and finishing steps around ORT (`predictWithRunner`). onnxruntime-web
 * is imported at run time from the server's `/ort/` route (its own dist folder, wasm files next to it).
 */
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import type * as Ort from 'onnxruntime-web';
import { selectBackend, type BackendName } from '../src/core/backend';
import type { PresetName } from '../src/core/config';
import { predictWithRunner, SimpleIR } from '../src/core/model/simpleir';

/** One comparison: the times of alternating runs and how far the outputs are apart. */
export interface PeerResult {
  preset: PresetName;
  size: string;
  backend: string;
  ep: 'wasm' | 'webgpu';
  /** Threads of tfjs's wasm backend and of onnxruntime-web's wasm (where they apply). */
  tfjsThreads: number | null;
  ortThreads: number;
  crossOriginIsolated: boolean;
  sdkMs: number[];
  ortMs: number[];
  maxAbsDiff: number;
  /** Mean |output - input| of the SDK: the network did something. */
  moved: number;
}

declare global {
  interface Window {
    peerBackend: (name: BackendName) => Promise<{ name: string; fallbackAdapter: boolean } | { error: string }>;
    peerCompare: (a: { preset: PresetName; w: number; h: number; ep: 'wasm' | 'webgpu'; reps: number; ortThreads: number; photo: string }) => Promise<PeerResult>;
  }
}

window.peerBackend = async (name) => {
  try {
    const info = await selectBackend(name, { wasmPaths: '/wasm/', onWarning: () => undefined });
    return { name: info.name, fallbackAdapter: info.fallbackAdapter };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
};

let ortModule: Promise<typeof Ort> | undefined;
/** onnxruntime-web (its WebGPU build, which also has the wasm EP), imported once; `threads` applies from the first session on. */
function loadOrt(threads: number): Promise<typeof Ort> {
  ortModule ??= (async () => {
    const url = '/ort/ort.webgpu.min.mjs';
    const ort = (await import(/* @vite-ignore */ url)) as typeof Ort;
    ort.env.wasm.wasmPaths = '/ort/';
    ort.env.wasm.numThreads = threads;
    ort.env.logLevel = 'error';
    return ort;
  })();
  return ortModule;
}

/** The photograph at `url` resized (cover) to w x h, as [1, h, w, 3] in [0, 1]. */
async function photoFrame(url: string, w: number, h: number): Promise<tf.Tensor4D> {
  const blob = await (await fetch(url)).blob();
  const bitmap = await createImageBitmap(blob);
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext('2d')!;
  const scale = Math.max(w / bitmap.width, h / bitmap.height);
  ctx.drawImage(bitmap, (w - bitmap.width * scale) / 2, (h - bitmap.height * scale) / 2, bitmap.width * scale, bitmap.height * scale);
  bitmap.close();
  const { data } = ctx.getImageData(0, 0, w, h);
  return tf.tidy(() => tf.div(tf.slice(tf.tensor3d(Int32Array.from(data), [h, w, 4], 'int32'), [0, 0, 0], [h, w, 3]).toFloat(), 255).expandDims(0) as tf.Tensor4D);
}

const sessions = new Map<string, Promise<Ort.InferenceSession>>();

window.peerCompare = async ({ preset, w, h, ep, reps, ortThreads, photo }) => {
  const ort = await loadOrt(ortThreads);
  const key = `${preset}/${ep}`;
  if (!sessions.has(key)) sessions.set(key, ort.InferenceSession.create(`/weights/${preset}.onnx`, { executionProviders: [ep], graphOptimizationLevel: 'all', logSeverityLevel: 3 }));
  const session = await sessions.get(key)!;
  const model = await SimpleIR.load(preset);
  const x = await photoFrame(photo, w, h);
  const runOrt = async (values: Float32Array, shape: readonly [number, number, number, number]): Promise<Float32Array> => {
    const input = new ort.Tensor('float32', values, [...shape]);
    const out = await session.run({ [session.inputNames[0]!]: input });
    input.dispose();
    const y = out[session.outputNames[0]!]!;
    return (await y.getData()) as Float32Array;
  };
  const sdk = async (): Promise<tf.Tensor4D> => {
    const y = model.predict(x, { tileSize: 0 });
    await y.data();
    return y;
  };
  const viaOrt = async (): Promise<tf.Tensor4D> => {
    const y = await predictWithRunner(model.config, x, runOrt);
    await y.data();
    return y;
  };
  try {
    // Warm-up of both, and the outputs compared.
    const a = await sdk();
    const b = await viaOrt();
    const maxAbsDiff = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
    const moved = tf.tidy(() => tf.mean(tf.abs(tf.sub(a, x))).dataSync()[0]!);
    tf.dispose([a, b]);
    const sdkMs: number[] = [];
    const ortMs: number[] = [];
    const timed = async (fn: () => Promise<tf.Tensor4D>): Promise<number> => {
      const t0 = performance.now();
      (await fn()).dispose();
      return performance.now() - t0;
    };
    for (let i = 0; i < reps; i++) {
      sdkMs.push(await timed(sdk));
      ortMs.push(await timed(viaOrt));
    }
    return {
      preset,
      size: `${w}x${h}`,
      backend: tf.getBackend(),
      ep,
      tfjsThreads: tf.getBackend() === 'wasm' ? getThreadsCount() : null,
      ortThreads: ort.env.wasm.numThreads ?? 0,
      crossOriginIsolated: self.crossOriginIsolated,
      sdkMs,
      ortMs,
      maxAbsDiff,
      moved,
    };
  } finally {
    x.dispose();
    model.dispose();
  }
};
