/**
 * What every example page does first: pick the tfjs backend and load a SimpleIR preset from the
 * server's `/weights/` folder, falling back (with a message for the page) to an untrained network when
 * the weights are missing. Plus the few DOM helpers the pages share.
 *
 * The examples import the SDK from its TypeScript sources (`../../src/browser`), bundled by esbuild in
 * `npm start`; an application imports the same names from `simpleir-stream/browser`.
 */
import { loadWorkerModel, SimpleIR, selectBackend, type BackendInfo, type BackendName, type PresetName, type WorkerModel } from '../../src/browser';

/** Where `npm start` serves the repository's `weights/` folder. */
export const WEIGHTS_BASE_URL = '/weights/';
/** Where `npm start` serves tfjs-backend-wasm's `.wasm` files. */
export const WASM_PATHS = '/wasm/';
/** Backends offered by the selectors, `auto` first (webgpu → webgl → wasm → cpu). */
export const BACKEND_CHOICES = ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'] as const;
/** A backend selector's value. */
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
/** Presets offered by the selectors. */
export const PRESET_CHOICES: readonly PresetName[] = ['tiny', 'base'];

/** A preset ready to run, and whether its trained weights were found. */
export interface LoadedPreset {
  readonly model: SimpleIR;
  readonly preset: PresetName;
  /** True when the trained weights loaded; false when the page runs an untrained (identity) network. */
  readonly trained: boolean;
  /** What to tell the user when `trained` is false. */
  readonly message: string | null;
}

/**
 * Selects the backend with the wasm files served at {@link WASM_PATHS}: `auto` takes a hardware WebGPU
 * adapter, else measures `preset` at `width`x`height` on the candidates and keeps the fastest (cached
 * per browser). Warnings (e.g. a software WebGPU adapter) are returned in the info, not logged.
 */
export async function startBackend(choice: BackendChoice, preset: PresetName = 'tiny', width = 640, height = 360): Promise<BackendInfo> {
  return selectBackend(choice === 'auto' ? 'auto' : (choice as BackendName), { wasmPaths: WASM_PATHS, onWarning: () => undefined, probe: { preset, width, height } });
}

/**
 * How the backend was chosen, in one line: the measured time of a probe pass per backend and why the
 * others were passed over, e.g. `Chosen by measurement of tiny for 640×360 (passes at 164×92): wasm
 * 42 ms. Passed over: webgpu: software (fallback) WebGPU adapter; slower than wasm (…)`. Null for a
 * backend named by the user.
 */
export function describeChoice(info: BackendInfo): string | null {
  const probe = info.probe;
  if (!probe) return null;
  const timed = probe.timings
    .filter((t) => t.ms !== null)
    .map((t) => `${t.name} ${t.ms!.toFixed(1)} ms`)
    .join(', ');
  const others = info.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  return `Chosen by measurement${probe.cached ? ' (cached)' : ''} of ${probe.preset} for ${probe.frameWidth}×${probe.frameHeight} (passes at ${probe.width}×${probe.height}): ${timed || 'no time'}${others ? `. Passed over: ${others}` : ''}.`;
}

/**
 * Loads `preset` with `SimpleIR.load(preset, { weightsBaseUrl: '/weights/' })`. When the weights are
 * missing or broken, returns a fresh network instead (SimpleIR starts as the identity: frames pass
 * through unchanged) and a message saying so.
 */
export async function loadPreset(preset: PresetName): Promise<LoadedPreset> {
  try {
    const model = await SimpleIR.load(preset, { weightsBaseUrl: WEIGHTS_BASE_URL });
    return { model, preset, trained: true, message: null };
  } catch (e) {
    // The first sentence says what went wrong (e.g. "… answered HTTP 404"); the rest is usage advice.
    const reason = (e instanceof Error ? e.message : String(e)).split(/\.(\s|$)/)[0];
    return {
      model: SimpleIR.create(preset),
      preset,
      trained: false,
      message:
        `The '${preset}' weights could not be loaded from ${WEIGHTS_BASE_URL}${preset}.json (${reason}). ` +
        `The page runs an untrained network instead, which passes frames through unchanged. ` +
        `Train and ship them with: npm run simpleir -- train --preset ${preset} --ship ${preset}.`,
    };
  }
}

/** Where `npm start` serves the model worker (bundled from src/worker.ts, as simpleir-stream/worker). */
export const WORKER_URL = '/bundles/worker.js';

/**
 * Starts the model worker: it selects the backend as {@link startBackend} does (measured for `preset`
 * at 640x360 when `auto`) and loads `preset` from `/weights/`. Rejects when the worker or the weights
 * cannot be loaded (the page then runs the model on its own thread).
 */
export async function loadWorkerPreset(choice: BackendChoice, preset: PresetName): Promise<WorkerModel> {
  return loadWorkerModel(preset, {
    backend: choice === 'auto' ? 'auto' : (choice as BackendName),
    wasmPaths: WASM_PATHS,
    weightsBaseUrl: WEIGHTS_BASE_URL,
    worker: WORKER_URL,
    probe: { preset, width: 640, height: 360 },
  });
}

/** The element with `id`; throws when the page lacks it. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

/** Shows `text` in a banner element (`kind` sets its colour), or hides it when `text` is null. */
export function setBanner(el: HTMLElement, text: string | null, kind: 'info' | 'warn' | 'error' = 'info'): void {
  el.hidden = text === null;
  el.className = kind === 'info' ? 'banner' : `banner ${kind}`;
  el.textContent = text ?? '';
}

/** Fills a `<select>` with `values` (labels default to the values) and selects `current`. */
export function fillSelect(select: HTMLSelectElement, values: readonly string[], current: string, labels: Record<string, string> = {}): void {
  select.replaceChildren(
    ...values.map((v) => {
      const o = document.createElement('option');
      o.value = v;
      o.textContent = labels[v] ?? v;
      return o;
    }),
  );
  select.value = current;
}

/** A query parameter of the page's URL when it is one of `allowed`, else `fallback`. */
export function queryChoice<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
  const v = new URLSearchParams(location.search).get(name);
  return v !== null && (allowed as readonly string[]).includes(v) ? (v as T) : fallback;
}

/** A one-line description of the backend in use, e.g. `webgpu (software adapter)`, `wasm (1 thread)`. */
export function describeBackend(info: BackendInfo): string {
  if (info.fallbackAdapter) return `${info.name} (software adapter)`;
  if (info.wasmThreads !== undefined) return `${info.name} (${info.wasmThreads} thread${info.wasmThreads === 1 ? '' : 's'})`;
  return info.name;
}
