/**
 * Chooses and initialises the TensorFlow.js backend: a hardware WebGPU adapter, else the fastest of
 * webgpu (software adapter), webgl and wasm by a short measurement (cached); an explicit choice wins.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgpu';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
// The same module tfjs-backend-wasm imports (one instance in any bundle): its factory's text is what the workers run.
import threadedGlue from '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js';
import { probeSize, softwareWebGLRenderer, timeActiveBackend, type ProbeSize, type ProbeTiming, type ProbeWorkload } from './backend-probe.js';
import { isPresetName } from './config.js';
import { describeValue, SimpleIRError } from './errors.js';
import { fromBase64 } from './base64.js';
import { isNodeRuntime } from './model/source.js';
import { EMBEDDED_WASM_VERSION, embeddedWasm, type WasmBinaryName } from './wasm-binaries.js';

/** Backends the SDK can run on. */
export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/** Every backend, fastest first on typical hardware; the automatic choice measures instead of trusting it (see {@link selectBackend}). */
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
  /**
   * The measurement that chose the backend (automatic choice without a hardware WebGPU adapter only):
   * each candidate's time, and whether the result came from the cache (then nothing was run).
   */
  readonly probe?: BackendProbe;
  /**
   * Threads of the wasm backend's thread pool (wasm only): as asked with `wasmThreads`, else tfjs's own
   * choice (half of `navigator.hardwareConcurrency`, at most 8; so 1 on 2-core machines); always 1
   * without cross-origin isolation and in Node.
   */
  readonly wasmThreads?: number;
}

/** How {@link selectBackend} measured the candidates. */
export interface BackendProbe {
  /** True when the choice was read from the cache (per origin, device, browser, preset and frame size). */
  readonly cached: boolean;
  /** Preset (or `custom`) and sizes: the frame size asked for, and the reduced size the passes ran at. */
  readonly preset: string;
  readonly frameWidth: number;
  readonly frameHeight: number;
  readonly width: number;
  readonly height: number;
  /** Each candidate measured, in the order run. */
  readonly timings: readonly ProbeTiming[];
  /** Milliseconds the measurement took (0 when cached). */
  readonly elapsedMs: number;
}

/** Options of {@link selectBackend}. */
export interface BackendOptions {
  /** Where the browser loads the wasm backend's `.wasm` files from (a URL prefix ending in `/`). */
  readonly wasmPaths?: string;
  /** Called with each warning (default: console.warn). */
  readonly onWarning?: (message: string) => void;
  /** What the automatic choice measures (default: `tiny` at 640x360). */
  readonly probe?: ProbeWorkload;
  /** Time allowed to the whole measurement, ms (default 1000). */
  readonly probeBudgetMs?: number;
  /** Reuse (and store) the measured choice: localStorage in browsers, memory in Node (default true). */
  readonly cache?: boolean;
  /**
   * Threads of the wasm backend (1 to 8), or `'auto'` (default): tfjs's own
   * choice, half of `navigator.hardwareConcurrency` (it assumes two hardware threads per core), at most 8.
   * A number is honoured even above that half. Threads need a cross-origin isolated page (served with
   * `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`); without
   * one, and in Node, wasm runs on one thread and a number above 1 gives a warning. It applies when the
   * wasm backend starts (once per page); `BackendInfo.wasmThreads` says what it got.
   */
  readonly wasmThreads?: number | 'auto';
}

/** Most threads the wasm backend can run: tfjs-backend-wasm 4.x starts a pool of 8 workers and caps its thread count there. */
const MAX_WASM_THREADS = 8;

function isBackendName(x: unknown): x is BackendName {
  return typeof x === 'string' && (BACKEND_ORDER as readonly string[]).includes(x);
}

interface AdapterInfoLike {
  isFallbackAdapter?: boolean;
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
}

interface GpuLike {
  requestAdapter(): Promise<{ info?: AdapterInfoLike; isFallbackAdapter?: boolean } | null>;
}

interface GpuProbe {
  ok: boolean;
  reason: string;
  fallback: boolean;
  /** vendor/architecture/device/description of the adapter: part of the cache key. */
  adapter: string;
}

async function probeWebGPU(): Promise<GpuProbe> {
  const gpu = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
  if (!gpu) return { ok: false, reason: 'navigator.gpu is missing (no WebGPU in this runtime)', fallback: false, adapter: 'none' };
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return { ok: false, reason: 'navigator.gpu.requestAdapter() returned null', fallback: false, adapter: 'none' };
    const fallback = Boolean(adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter);
    const i = adapter.info ?? {};
    return { ok: true, reason: '', fallback, adapter: [i.vendor, i.architecture, i.device, i.description, fallback ? 'fallback' : 'hardware'].join('/') };
  } catch (e) {
    return { ok: false, reason: `requestAdapter failed: ${(e as Error).message}`, fallback: false, adapter: 'error' };
  }
}

const WASM_BINARY_NAMES: readonly WasmBinaryName[] = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];

/** Where the wasm binaries come from: the app's `wasmPaths`, or the binaries built into the package (`embedded`). */
let wasmPathsSet: string | undefined;

/** True once the wasm backend runs (without starting it, as `tf.findBackend` would). */
function wasmStarted(): boolean {
  return 'wasm' in tf.engine().registry;
}

/** Points tfjs at the app's folder of `.wasm` files (a file map: it overrides an earlier one). */
function useWasmPaths(prefix: string): void {
  if (wasmStarted()) return; // its binary is loaded already
  try {
    setWasmPaths(Object.fromEntries(WASM_BINARY_NAMES.map((n) => [n, prefix + n])));
    wasmPathsSet = prefix;
  } catch (e) {
    throw new SimpleIRError('BACKEND_UNAVAILABLE', `wasmPaths ${JSON.stringify(prefix)} came after the wasm backend failed to start (${(e as Error).message}); pass wasmPaths to the first selectBackend call.`, { wasmPaths: prefix }, { cause: e });
  }
}

/**
 * True when the threaded binary's JS glue still works once turned into text: tfjs starts each worker
 * thread from `factory.toString()`, which must not read the variables around it. Emscripten guards the
 * only one it reads (`typeof _scriptDir !== "undefined" && _scriptDir`); some minifiers (terser, as
 * webpack 5 runs it) rewrite that guard to `void 0 !== s && s`, valid in the bundle but a
 * ReferenceError in the worker, where tfjs's initialisation then waits forever.
 */
export function threadedGlueWorksInWorkers(factoryText: string): boolean {
  return !/void 0\s*!==?\s*([A-Za-z_$][\w$]*)\s*&&\s*\1\b/.test(factoryText);
}

let threadsChecked = false;

function defaultWarn(message: string): void {
  console.warn(`[simpleir] ${message}`);
}

/**
 * Before the wasm backend starts in a browser: turns its threads off when this bundle broke the
 * threaded glue (see {@link threadedGlueWorksInWorkers}); tfjs then loads the SIMD binary, one thread.
 */
function guardWasmThreads(warn: (m: string) => void): void {
  if (threadsChecked || isNodeRuntime() || wasmStarted()) return;
  threadsChecked = true;
  if (threadedGlueWorksInWorkers(String(threadedGlue))) return;
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  warn("wasm runs on one thread: this app's minifier rewrote tfjs-backend-wasm's threaded glue so that its workers cannot start (a `typeof` guard became `void 0 !==`); keep `typeof` checks (terser: compress.typeofs = false) for threads.");
}

/** Threads asked of the wasm backend by the last `selectBackend` (or `backendReady`) call that gave `wasmThreads`. */
let wasmThreadsWanted: number | 'auto' = 'auto';

/** Why the wasm backend runs on fewer threads than asked, once it started; null when it got them (or none were asked). */
let wasmThreadsShortfall: string | null = null;

interface NavigatorCores {
  hardwareConcurrency?: number;
}

/**
 * Before the wasm backend starts in a browser: asks tfjs for `wasmThreadsWanted` threads. tfjs caps the
 * count at half of `navigator.hardwareConcurrency` (its C++ `init_with_threads_count`), which its module
 * reads once while it instantiates; for a larger count the navigator reports twice the count until the
 * backend has started, then its own value again. Returns what puts the navigator back.
 */
function askWasmThreads(): () => void {
  const n = wasmThreadsWanted;
  if (n === 'auto' || isNodeRuntime()) return () => undefined;
  setThreadsCount(n);
  const nav = (globalThis as { navigator?: NavigatorCores }).navigator;
  if (!nav || Math.floor((nav.hardwareConcurrency ?? 1) / 2) >= n) return () => undefined;
  const own = Object.getOwnPropertyDescriptor(nav, 'hardwareConcurrency');
  try {
    Object.defineProperty(nav, 'hardwareConcurrency', { configurable: true, enumerable: true, get: () => 2 * n });
  } catch {
    return () => undefined; // a frozen navigator: tfjs's cap stays
  }
  return () => {
    if (own) Object.defineProperty(nav, 'hardwareConcurrency', own);
    else delete nav.hardwareConcurrency;
  };
}

/** After the wasm backend started: why it has fewer threads than asked, or null. */
function wasmThreadsCheck(): string | null {
  const n = wasmThreadsWanted;
  if (n === 'auto') return null;
  let got: number;
  try {
    got = getThreadsCount();
  } catch {
    return null;
  }
  if (got >= n) return null;
  const why = isNodeRuntime()
    ? 'tfjs runs wasm on one thread in Node'
    : (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== true
      ? 'the page is not cross-origin isolated: serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp'
      : tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT')
        ? 'tfjs started fewer'
        : 'wasm threads are off in this page (WASM_HAS_MULTITHREAD_SUPPORT)';
  return `wasm runs on ${got} thread${got === 1 ? '' : 's'}, not the ${n} asked (wasmThreads): ${why}.`;
}

/**
 * In a browser where the app gave no `wasmPaths`, hands tfjs the binary it will load (chosen by the
 * same SIMD and thread tests) from those built into the package, as a blob: URL. Returns null, or why
 * it could not (then tfjs looks next to the page's script, as it does without the SDK).
 */
async function useEmbeddedWasm(): Promise<string | null> {
  if (wasmPathsSet !== undefined || EMBEDDED_WASM_VERSION === null || isNodeRuntime() || wasmStarted()) return null;
  try {
    const [simd, threads] = await Promise.all([tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'), tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')]);
    const name: WasmBinaryName = simd && threads ? 'tfjs-backend-wasm-threaded-simd.wasm' : simd ? 'tfjs-backend-wasm-simd.wasm' : 'tfjs-backend-wasm.wasm';
    const base64 = await embeddedWasm(name);
    if (base64 === null) return `${name} is not built into this package`;
    const url = URL.createObjectURL(new Blob([fromBase64(base64) as Uint8Array<ArrayBuffer>], { type: 'application/wasm' }));
    setWasmPaths(Object.fromEntries(WASM_BINARY_NAMES.map((n) => [n, n === name ? url : n])));
    wasmPathsSet = 'embedded';
    return null;
  } catch (e) {
    return `the built-in ${EMBEDDED_WASM_VERSION} binary could not be prepared: ${(e as Error).message}`;
  }
}

/** Makes `name` the active backend; returns null, or why it could not. */
async function activate(name: BackendName, warn: (m: string) => void = defaultWarn): Promise<string | null> {
  if (!(name in tf.engine().registryFactory)) return 'backend not registered in this build of tfjs (not available in this runtime)';
  if (name === 'wasm') guardWasmThreads(warn);
  const embedded = name === 'wasm' && tf.getBackend() !== name ? await useEmbeddedWasm() : null;
  const starting = name === 'wasm' && !wasmStarted();
  const putBack = starting ? askWasmThreads() : () => undefined;
  try {
    const ok = tf.getBackend() === name || (await tf.setBackend(name));
    if (!ok) return `initialisation failed${name === 'wasm' ? wasmHint(embedded) : ''}`;
    await tf.ready();
    if (starting) {
      wasmThreadsShortfall = wasmThreadsCheck();
      if (wasmThreadsShortfall) warn(wasmThreadsShortfall);
    }
    return null;
  } catch (e) {
    return `initialisation failed: ${(e as Error).message}${name === 'wasm' ? wasmHint(embedded) : ''}`;
  } finally {
    putBack();
  }
}

/** What to do when the wasm backend did not start. */
function wasmHint(embeddedFailure: string | null): string {
  const host = `host the .wasm files of @tensorflow/tfjs-backend-wasm ${EMBEDDED_WASM_VERSION ?? ''} and pass selectBackend(..., { wasmPaths: '<their folder URL>/' })`.replace('  ', ' ');
  if (wasmPathsSet === 'embedded') {
    return ` (its binary came from this package as a blob: URL; a Content-Security-Policy that blocks blob: fetches or WebAssembly compilation ('wasm-unsafe-eval') stops it: allow those, or ${host})`;
  }
  if (wasmPathsSet !== undefined) return ` (binaries looked for at ${wasmPathsSet}: check that they are served there as application/wasm)`;
  return embeddedFailure ? ` (${embeddedFailure}; ${host})` : '';
}

function wasmThreads(name: BackendName): { wasmThreads?: number } {
  if (name !== 'wasm') return {};
  try {
    return { wasmThreads: getThreadsCount() };
  } catch {
    return {};
  }
}

// ---- the measured choice's cache ---------------------------------------------------------------------

const CACHE_PREFIX = 'simpleir:backend-probe:v1:';
const memoryCache = new Map<string, string>();

function storage(): { getItem(k: string): string | null; setItem(k: string, v: string): void } | null {
  try {
    return (globalThis as { localStorage?: Storage }).localStorage ?? null;
  } catch {
    return null; // storage blocked (opaque origin, privacy settings)
  }
}

function cacheKey(size: ProbeSize, gpu: GpuProbe, candidates: readonly BackendName[]): string {
  const ua = (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent ?? `node ${(globalThis as { process?: { version?: string } }).process?.version ?? ''}`;
  const net = size.preset === 'custom' ? JSON.stringify(size.config) : size.preset;
  return `${CACHE_PREFIX}${JSON.stringify([net, size.frameWidth, size.frameHeight, gpu.adapter, candidates.join(','), tf.version_core, ua])}`;
}

interface CachedChoice {
  name: BackendName;
  timings: ProbeTiming[];
}

function readCache(key: string): CachedChoice | null {
  let text: string | null | undefined = memoryCache.get(key);
  if (text === undefined) {
    try {
      text = storage()?.getItem(key);
    } catch {
      text = null;
    }
  }
  if (!text) return null;
  try {
    const v = JSON.parse(text) as CachedChoice;
    return isBackendName(v.name) && Array.isArray(v.timings) ? v : null;
  } catch {
    return null;
  }
}

function writeCache(key: string, choice: CachedChoice): void {
  const text = JSON.stringify(choice);
  memoryCache.set(key, text);
  try {
    storage()?.setItem(key, text);
  } catch {
    // quota or blocked storage: the memory copy still serves this page
  }
}

/** Forgets every measured choice (this page's memory and localStorage). Mostly for tests and "re-measure" buttons. */
export function clearBackendCache(): void {
  memoryCache.clear();
  const s = storage() as Storage | null;
  if (!s) return;
  try {
    for (let i = s.length - 1; i >= 0; i--) {
      const k = s.key(i);
      if (k?.startsWith(CACHE_PREFIX)) s.removeItem(k);
    }
  } catch {
    // blocked storage
  }
}

// ---- selection -------------------------------------------------------------------------------------------

function fmtMs(t: ProbeTiming | undefined): string {
  return t?.ms == null ? 'no result' : `${t.ms.toFixed(1)} ms`;
}

/**
 * The automatic choice without a hardware WebGPU adapter: times `candidates` (cheapest first) on a
 * reduced frame and keeps the fastest; a cached choice for the same device, browser and workload is
 * reused without measuring. Returns null when no candidate initialises.
 */
async function chooseByMeasurement(
  candidates: BackendName[],
  gpu: GpuProbe,
  options: BackendOptions,
  skipped: { name: BackendName; reason: string }[],
): Promise<{ name: BackendName; probe: BackendProbe } | null> {
  const size = probeSize(options.probe);
  const key = cacheKey(size, gpu, candidates);
  const warn = options.onWarning ?? defaultWarn;
  const describe = (timings: ProbeTiming[], cached: boolean, elapsedMs: number): BackendProbe => ({
    cached,
    preset: size.preset,
    frameWidth: size.frameWidth,
    frameHeight: size.frameHeight,
    width: size.width,
    height: size.height,
    timings,
    elapsedMs,
  });
  const rejectOthers = (name: BackendName, timings: ProbeTiming[]): void => {
    const chosen = timings.find((t) => t.name === name);
    for (const t of timings) {
      if (t.name === name) continue;
      const adapter = t.name === 'webgpu' && gpu.fallback ? 'software (fallback) WebGPU adapter; ' : '';
      const why = t.ms === null ? `${t.note ?? 'no result'}` : `${fmtMs(t)} per probe pass`;
      skipped.push({ name: t.name as BackendName, reason: `${adapter}slower than ${name} (${why} against ${fmtMs(chosen)})` });
    }
  };
  if (options.cache !== false) {
    const hit = readCache(key);
    if (hit && (await activate(hit.name, warn)) === null) {
      rejectOthers(hit.name, hit.timings);
      return { name: hit.name, probe: describe(hit.timings, true, 0) };
    }
  }
  const budget = options.probeBudgetMs ?? 1000;
  const t0 = performance.now();
  const timings: ProbeTiming[] = [];
  const usable: BackendName[] = [];
  // A software WebGL renderer is passed over untimed: tfjs-webgl compiles its shaders synchronously on
  // the page's thread, which blocks it for seconds, past any time limit.
  const timed = candidates.filter((name) => {
    const software = name === 'webgl' ? softwareWebGLRenderer() : null;
    if (software) skipped.push({ name, reason: `software WebGL renderer (${software}): not timed, the CPU backends are faster than a GPU emulated on the same CPU` });
    return software === null;
  });
  for (const [i, name] of timed.entries()) {
    const failed = await activate(name, warn);
    if (failed) {
      skipped.push({ name, reason: failed });
      continue;
    }
    usable.push(name);
    // Each candidate gets an equal share of what is left.
    const left = budget - (performance.now() - t0);
    timings.push(await timeActiveBackend(size, Math.max(50, left / (timed.length - i))));
  }
  const measured = timings.filter((t) => t.ms !== null).sort((a, b) => a.ms! - b.ms!);
  const name = (measured[0]?.name as BackendName | undefined) ?? usable[0];
  if (name === undefined) return null;
  if ((await activate(name, warn)) !== null) return null;
  rejectOthers(name, timings);
  if (options.cache !== false && measured.length > 0) writeCache(key, { name, timings });
  return { name, probe: describe(timings, false, performance.now() - t0) };
}

/**
 * Selects the backend.
 *
 * With no choice (or `'auto'`): a hardware WebGPU adapter is used when it initialises; otherwise (no
 * adapter, or a software one such as SwiftShader) a short measurement — a few small forward passes
 * of the network (`options.probe`, default `tiny` at 640x360) on each of webgpu, webgl and wasm, about
 * 1 s in all — keeps the fastest, and cpu is the last resort. The measured choice is cached per
 * origin, device, browser and workload (localStorage; memory in Node), so later calls run nothing.
 * The result says what was measured (`probe`) and why each other backend was passed over (`skipped`).
 *
 * With a name or a list: only those, in that order, unmeasured; a software WebGPU adapter is then
 * accepted with a warning.
 * @throws SimpleIRError `BACKEND_UNAVAILABLE` when none of the candidates initialises, naming why each failed.
 */
export async function selectBackend(choice: BackendName | readonly BackendName[] | 'auto' = 'auto', options: BackendOptions = {}): Promise<BackendInfo> {
  const explicit = choice !== 'auto';
  if (typeof choice !== 'string' && !Array.isArray(choice)) {
    throw new SimpleIRError('INVALID_ARGUMENT', `selectBackend takes a backend name (${BACKEND_ORDER.join(', ')}), a list of them, or 'auto'; got ${describeValue(choice)}.`);
  }
  if (typeof options !== 'object' || options === null) throw new SimpleIRError('INVALID_ARGUMENT', `selectBackend options must be an object, got ${describeValue(options)}.`);
  checkProbeOptions('selectBackend', options);
  const candidates = choice === 'auto' ? BACKEND_ORDER : typeof choice === 'string' ? [choice] : choice;
  for (const c of candidates) {
    if (!isBackendName(c)) {
      throw new SimpleIRError('INVALID_ARGUMENT', `Unknown backend ${JSON.stringify(c)}; choose one of ${BACKEND_ORDER.join(', ')} or 'auto'.`);
    }
  }
  if (options.wasmPaths && options.wasmPaths !== wasmPathsSet) useWasmPaths(options.wasmPaths);
  const warn = options.onWarning ?? defaultWarn;
  if (options.wasmThreads !== undefined) askedWasmThreads(options.wasmThreads, warn);
  const skipped: { name: BackendName; reason: string }[] = [];
  const softwareWarning = 'WebGPU runs on a software (fallback) adapter: output is correct but slow.';
  if (!explicit) {
    const gpu = await probeWebGPU();
    if (gpu.ok && !gpu.fallback) {
      const failed = await activate('webgpu');
      if (!failed) return { name: 'webgpu', fallbackAdapter: false, skipped, warnings: [] };
      skipped.push({ name: 'webgpu', reason: failed });
    } else if (!gpu.ok) {
      skipped.push({ name: 'webgpu', reason: gpu.reason });
    }
    const measurable: BackendName[] = ['wasm', 'webgl', ...(gpu.ok && gpu.fallback && !skipped.some((s) => s.name === 'webgpu') ? (['webgpu'] as const) : [])];
    const chosen = await chooseByMeasurement(measurable, gpu, options, skipped);
    if (chosen) {
      const warnings = chosen.name === 'webgpu' && gpu.fallback ? [softwareWarning] : [];
      warnings.forEach(warn);
      if (chosen.name === 'wasm' && wasmThreadsShortfall) warnings.push(wasmThreadsShortfall);
      return { name: chosen.name, fallbackAdapter: chosen.name === 'webgpu' && gpu.fallback, skipped, warnings, probe: chosen.probe, ...wasmThreads(chosen.name) };
    }
    const failed = await activate('cpu');
    if (!failed) return { name: 'cpu', fallbackAdapter: false, skipped, warnings: [] };
    skipped.push({ name: 'cpu', reason: failed });
  } else {
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
        if (fallback) warnings.push(softwareWarning);
      }
      const failed = await activate(name, warn);
      if (failed) {
        skipped.push({ name, reason: failed });
        continue;
      }
      warnings.forEach(warn);
      if (name === 'wasm' && wasmThreadsShortfall) warnings.push(wasmThreadsShortfall);
      return { name, fallbackAdapter: fallback, skipped, warnings, ...wasmThreads(name) };
    }
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

/** Records the thread count asked for; once wasm has started, a different count can only be warned about. */
function askedWasmThreads(n: number | 'auto', warn: (m: string) => void): void {
  if (!wasmStarted()) {
    wasmThreadsWanted = n;
    return;
  }
  if (n === wasmThreadsWanted) return;
  let got = 1;
  try {
    got = getThreadsCount();
  } catch {
    // not a started wasm backend after all
  }
  if (n !== 'auto' && n !== got) warn(`wasmThreads ${n} came after the wasm backend started on ${got} thread${got === 1 ? '' : 's'}: the count is set once per page, at the first start; pass it to the first selectBackend call.`);
}

/** Throws `INVALID_ARGUMENT` (or `INVALID_CONFIG` for a bad network) for unusable measurement or thread options. */
function checkProbeOptions(where: string, options: BackendOptions): void {
  const { probe, probeBudgetMs, wasmThreads: threads } = options;
  if (threads !== undefined && threads !== 'auto' && !(typeof threads === 'number' && Number.isInteger(threads) && threads >= 1 && threads <= MAX_WASM_THREADS)) {
    throw new SimpleIRError('INVALID_ARGUMENT', `${where}: wasmThreads must be 'auto' or a whole number of threads from 1 to ${MAX_WASM_THREADS}, got ${describeValue(threads)}.`);
  }
  if (probeBudgetMs !== undefined && !(typeof probeBudgetMs === 'number' && probeBudgetMs > 0 && Number.isFinite(probeBudgetMs))) {
    throw new SimpleIRError('INVALID_ARGUMENT', `${where}: probeBudgetMs must be a positive number of milliseconds (default 1000), got ${describeValue(probeBudgetMs)}.`);
  }
  if (probe === undefined) return;
  if (typeof probe !== 'object' || probe === null) throw new SimpleIRError('INVALID_ARGUMENT', `${where}: probe must be an object { preset, width, height }, got ${describeValue(probe)}.`);
  for (const side of ['width', 'height'] as const) {
    const v = probe[side];
    if (v !== undefined && !(typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 16384)) {
      throw new SimpleIRError('INVALID_ARGUMENT', `${where}: probe.${side} must be a frame ${side} in pixels (1 to 16384), got ${describeValue(v)}.`);
    }
  }
  if (probe.preset !== undefined && typeof probe.preset === 'string' && !isPresetName(probe.preset)) {
    throw new SimpleIRError('INVALID_ARGUMENT', `${where}: probe.preset must be 'tiny', 'base' or a config, got ${describeValue(probe.preset)}.`);
  }
  probeSize(probe); // a config is validated here (INVALID_CONFIG)
}

interface EngineState {
  backendInstance?: unknown;
  pendingBackendInit?: Promise<boolean> | null;
}

let automatic: Promise<BackendInfo> | null = null;

/**
 * Makes sure a backend is ready, as {@link SimpleIR.load} does before it creates tensors: when the app
 * chose one (with {@link selectBackend} or `tf.setBackend`), waits for it and keeps it; otherwise runs
 * `selectBackend('auto', options)` once (concurrent callers share it). Returns the active backend's name.
 * @throws SimpleIRError `BACKEND_UNAVAILABLE` when no backend initialises.
 */
export async function backendReady(options: BackendOptions = {}): Promise<string> {
  if (typeof options !== 'object' || options === null) throw new SimpleIRError('INVALID_ARGUMENT', `backendReady options must be an object (those of selectBackend), got ${describeValue(options)}.`);
  checkProbeOptions('backendReady', options);
  const engine = tf.engine() as unknown as EngineState;
  if (engine.pendingBackendInit != null) await engine.pendingBackendInit.catch(() => false);
  if (engine.backendInstance != null) return tf.getBackend();
  automatic ??= selectBackend('auto', options).finally(() => {
    automatic = null;
  });
  return (await automatic).name;
}

/** The active backend's name. */
export function currentBackend(): string {
  return tf.getBackend();
}
