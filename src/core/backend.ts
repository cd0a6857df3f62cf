/** Chooses and initialises the TensorFlow.js backend: webgpu, then webgl, wasm, cpu; an explicit choice wins. */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { describeValue, SimpleIRError } from './errors.js';

/** Backends the SDK can run on. */
export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/** The automatic order of preference. */
export const BACKEND_ORDER: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

/** What {@link selectBackend} chose. */
export interface BackendInfo {
  /** The active backend. */
  readonly name: BackendName;
  /** True for a software WebGPU adapter (SwiftShader, ...): correct but slow. */
  readonly fallbackAdapter: boolean;
  /** Backends tried before it and why they were skipped. */
  readonly skipped: readonly { name: BackendName; reason: string }[];
  /** Human-readable warnings (e.g. a fallback adapter). */
  readonly warnings: readonly string[];
}

/** Options of {@link selectBackend}. */
export interface BackendOptions {
  /** Where the browser loads the wasm backend's `.wasm` files from (a URL prefix ending in `/`). */
  readonly wasmPaths?: string;
  /** Called with each warning (default: console.warn). */
  readonly onWarning?: (message: string) => void;
}

function isBackendName(x: unknown): x is BackendName {
  return typeof x === 'string' && (BACKEND_ORDER as readonly string[]).includes(x);
}

interface GpuLike {
  requestAdapter(): Promise<{ info?: { isFallbackAdapter?: boolean }; isFallbackAdapter?: boolean } | null>;
}

async function probeWebGPU(): Promise<{ ok: boolean; reason: string; fallback: boolean }> {
  const gpu = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
  if (!gpu) return { ok: false, reason: 'navigator.gpu is missing (no WebGPU in this runtime)', fallback: false };
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return { ok: false, reason: 'navigator.gpu.requestAdapter() returned null', fallback: false };
    const fallback = Boolean(adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter);
    return { ok: true, reason: '', fallback };
  } catch (e) {
    return { ok: false, reason: `requestAdapter failed: ${(e as Error).message}`, fallback: false };
  }
}

let wasmPathsSet: string | undefined;

/**
 * Selects the backend. With no choice (or `'auto'`), tries webgpu, webgl, wasm, cpu in turn and keeps
 * the first that initialises; with a name or a list, only those, in that order.
 * A software (fallback) WebGPU adapter is accepted with a warning.
 * @throws SimpleIRError `BACKEND_UNAVAILABLE` when none of the candidates initialises, naming why each failed.
 */
export async function selectBackend(choice: BackendName | readonly BackendName[] | 'auto' = 'auto', options: BackendOptions = {}): Promise<BackendInfo> {
  const explicit = choice !== 'auto';
  if (typeof choice !== 'string' && !Array.isArray(choice)) {
    throw new SimpleIRError('INVALID_ARGUMENT', `selectBackend takes a backend name (${BACKEND_ORDER.join(', ')}), a list of them, or 'auto'; got ${describeValue(choice)}.`);
  }
  if (typeof options !== 'object' || options === null) throw new SimpleIRError('INVALID_ARGUMENT', `selectBackend options must be an object, got ${describeValue(options)}.`);
  const candidates = choice === 'auto' ? BACKEND_ORDER : typeof choice === 'string' ? [choice] : choice;
  for (const c of candidates) {
    if (!isBackendName(c)) {
      throw new SimpleIRError('INVALID_ARGUMENT', `Unknown backend ${JSON.stringify(c)}; choose one of ${BACKEND_ORDER.join(', ')} or 'auto'.`);
    }
  }
  if (options.wasmPaths && options.wasmPaths !== wasmPathsSet) {
    setWasmPaths(options.wasmPaths);
    wasmPathsSet = options.wasmPaths;
  }
  const warn = options.onWarning ?? ((m: string) => console.warn(`[simpleir] ${m}`));
  const skipped: { name: BackendName; reason: string }[] = [];
  for (const name of candidates) {
    let fallback = false;
    const warnings: string[] = [];
    if (name === 'webgpu') {
      const probe = await probeWebGPU();
      if (!probe.ok) {
        skipped.push({ name, reason: probe.reason });
        continue;
      }
      fallback = probe.fallback;
      if (fallback) warnings.push('WebGPU runs on a software (fallback) adapter: output is correct but slow.');
    }
    if (!(name in tf.engine().registryFactory)) {
      skipped.push({ name, reason: 'backend not registered in this build of tfjs (not available in this runtime)' });
      continue;
    }
    let ok = false;
    try {
      ok = tf.getBackend() === name || (await tf.setBackend(name));
      if (ok) await tf.ready();
    } catch (e) {
      skipped.push({ name, reason: `initialisation failed: ${(e as Error).message}` });
      continue;
    }
    if (!ok) {
      skipped.push({ name, reason: 'initialisation failed' });
      continue;
    }
    warnings.forEach(warn);
    return { name, fallbackAdapter: fallback, skipped, warnings };
  }
  const why = skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  throw new SimpleIRError(
    'BACKEND_UNAVAILABLE',
    explicit
      ? `Backend ${candidates.join('/')} is not available here (${why}). Choose another backend or 'auto'.`
      : `No TensorFlow.js backend could be initialised (${why}).`,
    { skipped },
  );
}

/** The active backend's name. */
export function currentBackend(): string {
  return tf.getBackend();
}
