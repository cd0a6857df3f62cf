/**
 * Times a few small real forward passes of the network on each candidate backend, so that
 * {@link selectBackend} can keep the fastest one instead of a slow software WebGPU adapter.
 */
import * as tf from '@tensorflow/tfjs';
import { isPresetName, paramSpecs, PRESETS, validateConfig, type PresetName, type SimpleIRConfig } from './config.js';
import { forward } from './model/forward.js';
import { nativeOps } from './model/ops.js';

/** What the probe measures: a preset (or config) at a frame size. */
export interface ProbeWorkload {
  /** The network to time (default `'tiny'`). Random weights of its shape are used: only the speed matters. */
  readonly preset?: PresetName | SimpleIRConfig;
  /** Width of the frames the app will restore (default 640). */
  readonly width?: number;
  /** Height of the frames the app will restore (default 360). */
  readonly height?: number;
}

/** One backend's measurement. */
export interface ProbeTiming {
  readonly name: string;
  /**
   * Median milliseconds of one forward pass at the probe's reduced size, or null when no timed pass
   * finished in time. Only for comparing backends: fixed per-operation costs weigh more at this size,
   * so it does not scale to a frame's time by pixel count (wasm: 42 ms at 164x92, 112 ms at 640x360).
   */
  readonly ms: number | null;
  /** Timed passes that finished. */
  readonly passes: number;
  /** Milliseconds spent on this backend, warm-up (shader compilation) included. */
  readonly elapsedMs: number;
  /** Why `ms` is null: the time limit was reached, or the pass threw (the message). */
  readonly note?: string;
}

/** A resolved workload. */
export interface ProbeSize {
  readonly config: SimpleIRConfig;
  /** Preset name, or `custom`. */
  readonly preset: string;
  readonly frameWidth: number;
  readonly frameHeight: number;
  /** The reduced size actually run (multiples of the network's scale, at most {@link PROBE_PIXELS} pixels). */
  readonly width: number;
  readonly height: number;
}

/** Largest number of pixels the probe runs (a 160x96 frame): small enough for ~1 s over three backends. */
export const PROBE_PIXELS = 160 * 96;

/** The workload with its defaults and the reduced size the probe runs. */
export function probeSize(workload: ProbeWorkload = {}): ProbeSize {
  const preset = workload.preset ?? 'tiny';
  const config = isPresetName(preset) ? PRESETS[preset] : validateConfig(preset);
  const same = (Object.keys(PRESETS) as PresetName[]).find((p) => JSON.stringify(PRESETS[p]) === JSON.stringify(config));
  const frameWidth = Math.max(1, Math.round(workload.width ?? 640));
  const frameHeight = Math.max(1, Math.round(workload.height ?? 360));
  const shrink = Math.min(1, Math.sqrt(PROBE_PIXELS / (frameWidth * frameHeight)));
  const s = config.scale;
  const round = (v: number): number => Math.max(s, Math.round((v * shrink) / s) * s);
  return { config, preset: same ?? 'custom', frameWidth, frameHeight, width: round(frameWidth), height: round(frameHeight) };
}

/** Deterministic weights of the right shapes (fan-in scaled, so activations stay in a normal range). */
function probeWeights(config: SimpleIRConfig): Map<string, tf.Tensor> {
  const params = new Map<string, tf.Tensor>();
  for (const spec of paramSpecs(config)) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(size);
    const bound = Math.sqrt(3 / spec.fanIn);
    for (let i = 0; i < size; i++) v[i] = spec.init === 'one' ? 1 : bound * Math.sin(i * 12.9898 + size);
    params.set(spec.name, tf.tensor(v, [...spec.shape], 'float32'));
  }
  return params;
}

/** Resolves with `p`, or with `'timeout'` after `ms`. */
function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), Math.max(0, ms));
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

/**
 * Times forward passes of `size` on the active backend: one warm-up pass (shader compilation, buffer
 * allocation) then up to three timed passes, within `limitMs` (the first timed pass may use as long as
 * the warm-up took). A pass still running when the limit
 * is reached is abandoned (the backend is reported too slow); its tensors are disposed at once.
 */
export async function timeActiveBackend(size: ProbeSize, limitMs: number): Promise<ProbeTiming> {
  const name = tf.getBackend();
  const t0 = performance.now();
  const weights = probeWeights(size.config);
  const x = tf.tidy(() => tf.fill([1, size.height, size.width, 3], 0.5).add(tf.randomUniform([1, size.height, size.width, 3], -0.2, 0.2, 'float32', 7))) as tf.Tensor4D;
  const outputs = new Set<tf.Tensor>();
  // Everything is disposed when the timing ends, even with a pass still running on the device (its
  // commands are submitted by then; a read of a disposed output just fails, unobserved): the probe
  // leaves no tensor behind for the app's memory checks.
  const release = (): void => {
    outputs.forEach((y) => y.dispose());
    x.dispose();
    weights.forEach((w) => w.dispose());
  };
  const pass = (): Promise<unknown> => {
    const y = forward(size.config, nativeOps, weights, x, true, true);
    outputs.add(y);
    return y.data().finally(() => {
      outputs.delete(y);
      y.dispose();
    });
  };
  const times: number[] = [];
  let note: string | undefined;
  try {
    let warmUpMs = 0;
    for (let i = 0; i < 4; i++) {
      let left = limitMs - (performance.now() - t0);
      // After a warm-up that finished, one timed pass is always tried, for as long as the warm-up took:
      // a backend that runs synchronously (wasm) cannot be interrupted, and on a busy machine its
      // warm-up alone may use up the share; without a time it could not be compared.
      if (i === 1) left = Math.max(left, warmUpMs);
      if (left <= 0) break;
      const start = performance.now();
      if ((await within(pass(), left)) === 'timeout') {
        if (i <= 1) note = `the ${i === 0 ? 'first' : 'timed'} pass did not finish within ${Math.round(left)} ms`;
        break;
      }
      if (i === 0) warmUpMs = performance.now() - start;
      else times.push(performance.now() - start);
    }
  } catch (e) {
    note = `a pass failed: ${(e as Error).message}`;
    times.length = 0;
  } finally {
    release();
  }
  const elapsedMs = performance.now() - t0;
  if (times.length === 0) return { name, ms: null, passes: 0, elapsedMs, note: note ?? `no timed pass within ${Math.round(limitMs)} ms` };
  const sorted = [...times].sort((a, b) => a - b);
  const ms = sorted[Math.floor(sorted.length / 2)]!;
  return { name, ms, passes: times.length, elapsedMs };
}

/** Renderers that draw on the CPU: ANGLE on SwiftShader, Mesa's llvmpipe/softpipe, Windows' basic driver. */
const SOFTWARE_RENDERER = /swiftshader|llvmpipe|softpipe|software|basic render driver/i;

/**
 * The WebGL renderer's name when it is a software one (e.g. `ANGLE (Google, Vulkan 1.3.0 (SwiftShader
 * Device ...))`), else null (a hardware renderer, or no WebGL here). Read from a throwaway 1x1 context.
 */
export function softwareWebGLRenderer(): string | null {
  const g = globalThis as { OffscreenCanvas?: new (w: number, h: number) => { getContext(kind: string): unknown } };
  if (!g.OffscreenCanvas) return null;
  try {
    const canvas = new g.OffscreenCanvas(1, 1);
    const gl = (canvas.getContext('webgl2') ?? canvas.getContext('webgl')) as WebGLRenderingContext | null;
    if (!gl) return null;
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return SOFTWARE_RENDERER.test(renderer) ? renderer : null;
  } catch {
    return null;
  }
}
