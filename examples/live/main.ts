/**
 * The live demo: camera (or, without one, the bundled sample clip) → `restore(model, { mode: 'live' })`
 * → a split view of original and restored frames, with the operator's metrics, preset / backend / size
 * selectors, the restoration selector (per frame, temporal, temporal guided by the inputs, guided with explained votes) and online
 * Review Learning ("adapt to this scene"). The model and the learner run in a worker
 * (`loadWorkerModel`), so the page's thread never waits for them; `?worker=off` (and temporal
 * restoration, which runs on this thread) keeps them on the page's thread.
 * `window.simpleirDemo` exposes the metrics (with the longest main-thread task of the last 10 s) and a
 * capture of both pictures for automation.
 */
import { defer, finalize, Observable, type MonoTypeOperatorFunction, type Subscription } from 'rxjs';
import {
  createDegradation,
  createOnlineLearner,
  createRestorer,
  fromCamera,
  fromVideoElement,
  reviewLearning,
  toCanvas,
  type BackendInfo,
  type Degradation,
  type DegradationKind,
  type LearnerEvent,
  type ObservableLearner,
  type PresetName,
  type RestoreMetrics,
  type SimpleIR,
  type WorkerLearner,
  WorkerModel,
} from '../../src/browser';
import { BACKEND_CHOICES, byId, describeBackend, describeChoice, fillSelect, loadPreset, loadWorkerPreset, PRESET_CHOICES, queryChoice, setBanner, startBackend, type BackendChoice } from '../shared/setup';
import { setUpTemporalSelect, temporalOptions, type TemporalMode } from '../shared/temporal';
import { InputSnapshots } from './snapshots';
import { splitView } from './split-view';

/** Where frames come from. */
type SourceChoice = 'camera' | 'sample';
/** Largest width restored; wider frames are scaled down first (`native`: never). */
const SIZE_CHOICES = ['native', '1280', '640', '320', '160'] as const;
type SizeChoice = (typeof SIZE_CHOICES)[number];
const LEARN_KINDS: readonly DegradationKind[] = ['rain', 'snow', 'lowlight', 'blur'];
/** Learning time granted per frame, ms (the learner's `stepBudgetMs`; the SDK's default is 8). */
const LEARN_BUDGETS = ['8', '30', '100', '250'] as const;
/** Frames the restorer works on at once. */
const MAX_IN_FLIGHT = 2;

/** `?worker=off` runs the model on the page's thread; by default it runs in a worker. */
const WORKER_CHOICE = queryChoice('worker', ['on', 'off'], 'on');
/** Long main-thread tasks are reported over this window. */
const BLOCK_WINDOW_MS = 10_000;

/** The model the page runs: in a worker, or on the page's thread (with whether trained weights were found). */
interface LoadedModel {
  readonly model: SimpleIR | WorkerModel;
  readonly preset: PresetName;
  readonly trained: boolean;
  readonly message: string | null;
}

/** The live restore operator's metrics, plus how long the page's thread was blocked. */
export interface DemoMetrics extends RestoreMetrics {
  /**
   * The longest task on the page's main thread in the last 10 s, in ms (PerformanceObserver 'longtask':
   * tasks of 50 ms or more; 0 when there was none).
   */
  readonly mainThreadMaxBlockMs: number;
}

/** Both pictures of the split view as PNG data URLs, drawn from the same input frame. */
export interface DemoCapture {
  /** Timestamp (µs) of the frame both pictures show. */
  readonly timestamp: number;
  readonly width: number;
  readonly height: number;
  readonly original: string;
  readonly restored: string;
}

/** What the page is doing. */
export interface DemoStatus {
  readonly source: SourceChoice | null;
  readonly preset: PresetName;
  readonly trained: boolean;
  readonly backend: string | null;
  readonly fallbackAdapter: boolean;
  /** How `auto` chose the backend (the measurement and the reasons), null for a named backend. */
  readonly backendChoice: Pick<BackendInfo, 'probe' | 'skipped' | 'wasmThreads'> | null;
  /** Timestamps (µs) of the frames the two halves of the split view show now: equal when they match. */
  readonly split: { readonly original: number | null; readonly restored: number | null };
  /** Frames the source gave since the stream (re)started. */
  readonly framesSeen: number;
  /** Restored frames drawn since the stream (re)started. */
  readonly framesShown: number;
  /**
   * What the running stream does (the "Restoration" selector, `?temporal=`): `off` per frame, `on`
   * temporal (`temporal: true`), `guide` temporal guided by the inputs (`temporal: { guide: true }`),
   * `explained` guided with explained votes (`temporal: { guide: true, guideVotes: 'explained' }`).
   */
  readonly temporal: TemporalMode;
  /** Whether the model (and the learner) run in a worker. */
  readonly worker: boolean;
  readonly learning: 'off' | 'on' | 'paused' | 'unavailable';
  readonly learnerSteps: number;
  readonly error: string | null;
}

/** The automation interface on `window.simpleirDemo`. */
export interface SimpleIRDemo {
  /** The live restore operator's latest metrics report (null before the first), with `mainThreadMaxBlockMs`. */
  metrics(): DemoMetrics | null;
  status(): DemoStatus;
  /** The original and the restored picture now on screen, or null before a matched pair was drawn. */
  capture(): DemoCapture | null;
}

declare global {
  interface Window {
    simpleirDemo: SimpleIRDemo;
  }
}

const ui = {
  banner: byId('banner'),
  weightsBanner: byId('weights-banner'),
  stage: byId('stage'),
  original: byId<HTMLCanvasElement>('original'),
  restored: byId<HTMLCanvasElement>('restored'),
  placeholder: byId('placeholder'),
  handle: byId('handle'),
  sourceNote: byId('source-note'),
  sample: byId<HTMLVideoElement>('sample'),
  source: byId<HTMLSelectElement>('source'),
  preset: byId<HTMLSelectElement>('preset'),
  backend: byId<HTMLSelectElement>('backend'),
  size: byId<HTMLSelectElement>('size'),
  temporal: byId<HTMLSelectElement>('temporal'),
  temporalNote: byId('temporal-note'),
  learnKind: byId<HTMLSelectElement>('learn-kind'),
  learnBudget: byId<HTMLSelectElement>('learn-budget'),
  adapt: byId<HTMLButtonElement>('adapt'),
  adaptReset: byId<HTMLButtonElement>('adapt-reset'),
  learnStatus: byId('learn-status'),
  fps: byId('m-fps'),
  latency: byId('m-latency'),
  dropped: byId('m-dropped'),
  frames: byId('m-frames'),
  backendStat: byId('m-backend'),
  backendNote: byId('backend-note'),
};

const state = {
  source: null as SourceChoice | null,
  loaded: null as LoadedModel | null,
  /** Whether the loaded model runs in a worker. */
  worker: false,
  backend: null as BackendInfo | null,
  metrics: null as RestoreMetrics | null,
  /** The running stream's temporal mode. */
  temporal: 'off' as TemporalMode,
  framesSeen: 0,
  framesShown: 0,
  pipeline: null as Subscription | null,
  metricsSub: null as Subscription | null,
  learner: null as ObservableLearner | WorkerLearner | null,
  learnerSub: null as Subscription | null,
  learnDegradation: null as Degradation | null,
  learning: 'off' as DemoStatus['learning'],
  learnerSteps: 0,
  error: null as string | null,
  /** Timestamp of the frame both canvases show, when they show the same one. */
  pairTimestamp: null as number | null,
  /** Timestamps of the frames on the original and the restored canvas. */
  originalTimestamp: null as number | null,
  restoredTimestamp: null as number | null,
  /** Bumped on every restart: callbacks of an older stream do nothing. */
  generation: 0,
};

const snapshots = new InputSnapshots(MAX_IN_FLIGHT);
/** The learning panel's explanation, shown while no learner runs. */
const LEARN_NOTE = ui.learnStatus.textContent ?? '';
splitView(ui.stage, ui.restored, ui.handle);

// ---- main-thread blocking ------------------------------------------------------------------------

/** Ends and durations of the page's long tasks (50 ms or more) of the last {@link BLOCK_WINDOW_MS}. */
const longTasks: { end: number; duration: number }[] = [];
if (PerformanceObserver.supportedEntryTypes?.includes('longtask')) {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) longTasks.push({ end: e.startTime + e.duration, duration: e.duration });
  }).observe({ type: 'longtask', buffered: true });
}

/** The longest main-thread task that ended in the last {@link BLOCK_WINDOW_MS}, in ms (0: none of 50 ms or more). */
function mainThreadMaxBlockMs(): number {
  const since = performance.now() - BLOCK_WINDOW_MS;
  while (longTasks.length > 0 && longTasks[0]!.end < since) longTasks.shift();
  return longTasks.reduce((max, t) => Math.max(max, t.duration), 0);
}

// ---- frames --------------------------------------------------------------------------------------

/** The frames of the chosen source. The sample clip loops and is paused when the stream ends. */
function sourceFrames(source: SourceChoice): Observable<VideoFrame> {
  if (source === 'camera') return fromCamera({ width: { ideal: 1280 }, height: { ideal: 720 } });
  return defer(() => {
    ui.sample.currentTime = 0;
    return fromVideoElement(ui.sample, { play: true });
  }).pipe(finalize(() => ui.sample.pause()));
}

/** Scales frames wider than `maxWidth` down (keeping the aspect, even sizes); others pass unchanged. */
function fitWidth(maxWidth: number | null): MonoTypeOperatorFunction<VideoFrame> {
  return (source) =>
    new Observable<VideoFrame>((subscriber) => {
      let canvas: OffscreenCanvas | null = null;
      return source.subscribe({
        next: (frame) => {
          if (subscriber.closed) {
            frame.close();
            return;
          }
          if (maxWidth === null || frame.displayWidth <= maxWidth) {
            subscriber.next(frame);
            return;
          }
          const w = maxWidth - (maxWidth % 2);
          const h = Math.max(2, Math.round((frame.displayHeight * w) / frame.displayWidth / 2) * 2);
          canvas ??= new OffscreenCanvas(w, h);
          if (canvas.width !== w || canvas.height !== h) {
            canvas.width = w;
            canvas.height = h;
          }
          let scaled: VideoFrame;
          try {
            canvas.getContext('2d')!.drawImage(frame, 0, 0, w, h);
            scaled = new VideoFrame(canvas, { timestamp: frame.timestamp, ...(frame.duration !== null ? { duration: frame.duration } : {}) });
          } catch (e) {
            subscriber.error(e);
            return;
          } finally {
            frame.close();
          }
          subscriber.next(scaled);
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
    });
}

/** Counts the frames the source gives. */
function countFrames(generation: number): MonoTypeOperatorFunction<VideoFrame> {
  return (source) =>
    new Observable<VideoFrame>((subscriber) =>
      source.subscribe({
        next: (f) => {
          // A closed subscriber drops what it is given: close the frame rather than leave it to the GC.
          if (subscriber.closed) {
            f.close();
            return;
          }
          if (generation === state.generation) state.framesSeen++;
          subscriber.next(f);
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => subscriber.complete(),
      }),
    );
}

// ---- the pipeline --------------------------------------------------------------------------------

function stopPipeline(): void {
  state.generation++;
  state.pipeline?.unsubscribe();
  state.metricsSub?.unsubscribe();
  state.pipeline = null;
  state.metricsSub = null;
  snapshots.clear();
}

/** (Re)starts the stream: source → size → [review learning] → snapshots → live restore → canvas. */
function startPipeline(source: SourceChoice): void {
  stopPipeline();
  const loaded = state.loaded;
  if (!loaded) return;
  const generation = state.generation;
  state.source = source;
  state.framesSeen = 0;
  state.framesShown = 0;
  state.pairTimestamp = null;
  state.originalTimestamp = null;
  state.restoredTimestamp = null;
  state.error = null;
  ui.source.value = source;
  ui.placeholder.hidden = false;
  ui.placeholder.textContent = source === 'camera' ? 'Opening the camera…' : 'Playing the sample clip…';
  ui.sourceNote.textContent =
    source === 'camera' ? 'Source: your camera (frames stay on this device).' : 'Source: the bundled sample clip (a photograph with synthetic rain, made by npm run sample-clip).';
  // Temporal restoration fuses past frames of this stream: changing the mode restarts the stream, so
  // the new mode applies from the next frames with an empty history.
  state.temporal = ui.temporal.value as TemporalMode;
  const restorer = createRestorer<VideoFrame>(loaded.model, {
    mode: 'live',
    maxInFlight: MAX_IN_FLIGHT,
    ...temporalOptions(state.temporal),
    onFrameError: (e) => console.warn(`[demo] a frame failed and was skipped: ${e.message}`),
  });
  outputHistory.length = 0;
  state.metricsSub = restorer.metrics$.subscribe((m) => {
    if (generation !== state.generation) return;
    state.metrics = m;
    renderMetrics(m);
  });
  const size = ui.size.value as SizeChoice;
  let frames = sourceFrames(source).pipe(countFrames(generation), fitWidth(size === 'native' ? null : Number(size)));
  if (state.learner && state.learnDegradation && state.learning !== 'off') {
    frames = frames.pipe(reviewLearning<VideoFrame>(state.learner, { domain: `scene-${state.learnDegradation.kind}`, pairs: 'synthesize', degrade: state.learnDegradation }));
  }
  state.pipeline = frames.pipe(snapshots.tap(), restorer.operator, toCanvas(ui.restored)).subscribe({
    next: (timestamp) => {
      if (generation === state.generation) showOriginal(timestamp);
    },
    error: (e: unknown) => {
      if (generation === state.generation) onPipelineError(source, e);
    },
  });
}

/** Draws the input of the restored frame now on screen into the original canvas. */
function showOriginal(timestamp: number): void {
  state.framesShown++;
  state.restoredTimestamp = timestamp;
  ui.placeholder.hidden = true;
  const snap = snapshots.output(timestamp);
  if (!snap) {
    state.pairTimestamp = null;
    return;
  }
  state.originalTimestamp = snap.timestamp;
  const c = ui.original;
  if (c.width !== snap.canvas.width || c.height !== snap.canvas.height) {
    c.width = snap.canvas.width;
    c.height = snap.canvas.height;
  }
  c.getContext('2d')!.drawImage(snap.canvas, 0, 0);
  state.pairTimestamp = timestamp;
}

function onPipelineError(source: SourceChoice, e: unknown): void {
  const message = e instanceof Error ? e.message : String(e);
  if (source === 'camera' && state.framesSeen === 0) {
    setBanner(ui.banner, `No camera could be opened (${message}). Playing the bundled sample clip instead.`, 'warn');
    startPipeline('sample');
    return;
  }
  state.error = message;
  ui.placeholder.hidden = false;
  ui.placeholder.textContent = 'Stopped';
  setBanner(ui.banner, `The stream stopped: ${message}`, 'error');
}

/** (time, frames out) of recent metrics reports, for a frame rate that shows below 1 fps too. */
const outputHistory: { t: number; out: number }[] = [];

/** Output frames per second: the operator's (last second) when it is 2 or more, else over the last 5 s. */
function outputFps(m: RestoreMetrics): number {
  const now = performance.now();
  outputHistory.push({ t: now, out: m.framesOut });
  while (outputHistory.length > 1 && outputHistory[0]!.t < now - 5000) outputHistory.shift();
  if (m.fps >= 2 || outputHistory.length < 2) return m.fps;
  const first = outputHistory[0]!;
  return now > first.t ? ((m.framesOut - first.out) * 1000) / (now - first.t) : m.fps;
}

function renderMetrics(m: RestoreMetrics): void {
  ui.fps.textContent = outputFps(m).toFixed(1);
  const [p50, p95, unit] = m.latencyP95 < 1000 ? [Math.round(m.latencyP50), Math.round(m.latencyP95), 'ms'] : [(m.latencyP50 / 1000).toFixed(1), (m.latencyP95 / 1000).toFixed(1), 's'];
  ui.latency.innerHTML = `${p50}<small> / ${p95} ${unit}</small>`;
  const pct = m.framesIn > 0 ? Math.round((100 * m.dropped) / m.framesIn) : 0;
  ui.dropped.innerHTML = `${m.dropped}<small> ${pct}%</small>`;
  ui.frames.innerHTML = `${m.framesOut}<small> of ${m.framesIn}</small>`;
  const size = ui.restored.width > 0 && state.framesShown > 0 ? ` · ${ui.restored.width}×${ui.restored.height}` : '';
  ui.backendStat.textContent = `${state.backend ? describeBackend(state.backend) : m.backend} · ${state.loaded?.preset ?? ''}${size}`;
}

// ---- model and backend -----------------------------------------------------------------------------

/**
 * Selects the backend and loads the preset (disposing the previous model and learner): in a worker,
 * unless `?worker=off`, temporal restoration (which runs on this thread) or a worker that fails to start.
 */
async function setUp(backend: BackendChoice, preset: PresetName): Promise<void> {
  stopPipeline();
  disposeLearner();
  state.loaded?.model.dispose();
  state.loaded = null;
  ui.placeholder.hidden = false;
  ui.placeholder.textContent = 'Loading the model…';
  state.worker = false;
  if (WORKER_CHOICE === 'on' && ui.temporal.value === 'off') {
    try {
      const model = await loadWorkerPreset(backend, preset);
      state.backend = model.backend;
      state.loaded = { model, preset, trained: true, message: null };
      state.worker = true;
    } catch (e) {
      console.warn(`[demo] the model worker did not start (${e instanceof Error ? e.message : String(e)}); running the model on the page's thread`);
    }
  }
  if (!state.loaded) {
    state.backend = await startBackend(backend, preset);
    state.loaded = await loadPreset(preset);
  }
  const info = state.backend!;
  ui.backendNote.textContent = describeChoice(info) ?? `Backend chosen by you: ${describeBackend(info)}.`;
  setBanner(ui.weightsBanner, state.loaded.message, 'warn');
  if (info.warnings.length > 0) ui.sourceNote.title = info.warnings.join('\n');
  ui.backendStat.textContent = `${describeBackend(info)} · ${preset}`;
}

async function reconfigure(): Promise<void> {
  const source = state.source ?? 'camera';
  setControlsDisabled(true);
  try {
    await setUp(ui.backend.value as BackendChoice, ui.preset.value as PresetName);
    setBanner(ui.banner, null);
    startPipeline(source);
  } catch (e) {
    setBanner(ui.banner, `Could not start: ${e instanceof Error ? e.message : String(e)}`, 'error');
  } finally {
    setControlsDisabled(false);
  }
}

function setControlsDisabled(disabled: boolean): void {
  for (const el of [ui.source, ui.preset, ui.backend, ui.size, ui.temporal]) el.disabled = disabled;
}

// ---- online Review Learning -------------------------------------------------------------------------

function disposeLearner(): void {
  state.learnerSub?.unsubscribe();
  state.learner?.dispose();
  state.learnDegradation?.dispose();
  state.learnerSub = null;
  state.learner = null;
  state.learnDegradation = null;
  state.learnerSteps = 0;
  if (state.learning !== 'unavailable') state.learning = 'off';
  renderLearning(null);
}

function learnDegradation(): Degradation {
  return createDegradation(ui.learnKind.value as DegradationKind, { seed: 1, strength: 0.6 });
}

/** Starts, pauses or resumes learning. */
function toggleLearning(): void {
  const loaded = state.loaded;
  if (!loaded || !state.source) return;
  try {
    if (!state.learner) {
      const options = { stepBudgetMs: Number(ui.learnBudget.value) };
      // In a worker, the learner trains there too (on the frames the worker restores).
      state.learner = loaded.model instanceof WorkerModel ? loaded.model.createOnlineLearner(options) : createOnlineLearner(loaded.model, options);
      state.learnerSub = state.learner.events$.subscribe((e) => renderLearning(e));
      state.learnDegradation = learnDegradation();
      state.learning = 'on';
      startPipeline(state.source);
    } else if (state.learning === 'on') {
      state.learner.pause();
      state.learning = 'paused';
    } else {
      state.learner.resume();
      state.learning = 'on';
    }
  } catch (e) {
    ui.learnStatus.textContent = `Learning could not start: ${e instanceof Error ? e.message : String(e)}`;
    disposeLearner();
    return;
  }
  renderLearning(null);
}

function renderLearning(e: LearnerEvent | null): void {
  ui.adapt.textContent = state.learning === 'on' ? 'Pause' : state.learning === 'paused' ? 'Resume' : 'Adapt';
  ui.adaptReset.disabled = state.learner === null;
  ui.learnBudget.disabled = state.learner !== null;
  if (!state.learner) {
    ui.learnStatus.textContent = LEARN_NOTE;
    return;
  }
  if (e?.type === 'step') state.learnerSteps = e.step;
  const memory = Object.entries(state.learner.memoryCounts().memoryByDomain)
    .map(([d, n]) => `${d} ${n}`)
    .join(', ');
  const loss = e?.type === 'step' ? ` · loss ${e.freshLoss.toFixed(4)}` : '';
  ui.learnStatus.textContent = `${state.learning === 'paused' ? 'Paused' : 'Learning'} "${state.learnDegradation?.kind ?? ''}" on this scene: ${state.learner.steps} steps${loss} · memory: ${memory || 'empty'}.`;
}

// ---- controls ---------------------------------------------------------------------------------------

fillSelect(ui.source, ['camera', 'sample'], 'camera', { camera: 'Camera', sample: 'Sample clip (rain)' });
fillSelect(ui.preset, PRESET_CHOICES, queryChoice('preset', PRESET_CHOICES, 'tiny'));
fillSelect(ui.backend, BACKEND_CHOICES, queryChoice('backend', BACKEND_CHOICES, 'auto'));
fillSelect(ui.size, SIZE_CHOICES, queryChoice('size', SIZE_CHOICES, 'native'), { native: 'Native', 1280: '1280 px', 640: '640 px', 320: '320 px', 160: '160 px' });
setUpTemporalSelect(ui.temporal, ui.temporalNote);
fillSelect(ui.learnKind, LEARN_KINDS, 'rain');
fillSelect(ui.learnBudget, LEARN_BUDGETS, queryChoice('learnBudget', LEARN_BUDGETS, '8'), { 8: '8 ms', 30: '30 ms', 100: '100 ms', 250: '250 ms' });

ui.source.addEventListener('change', () => {
  setBanner(ui.banner, null);
  startPipeline(ui.source.value as SourceChoice);
});
ui.size.addEventListener('change', () => state.source && startPipeline(state.source));
// Temporal restoration runs on the page's thread: with the worker on, switching between per frame
// and a temporal mode moves the model; between the two temporal modes only the stream restarts.
ui.temporal.addEventListener('change', () => {
  if (WORKER_CHOICE === 'on' && state.worker !== (ui.temporal.value === 'off')) void reconfigure();
  else if (state.source) startPipeline(state.source);
});
ui.preset.addEventListener('change', () => void reconfigure());
ui.backend.addEventListener('change', () => void reconfigure());
ui.adapt.addEventListener('click', toggleLearning);
ui.adaptReset.addEventListener('click', () => {
  if (!state.learner) return;
  // Back to the shipped weights (published to the model at once), and learning stops.
  state.learner.reset();
  disposeLearner();
  if (state.source) startPipeline(state.source);
});
ui.learnKind.addEventListener('change', () => {
  if (!state.learner || !state.source) return;
  state.learnDegradation?.dispose();
  state.learnDegradation = learnDegradation();
  startPipeline(state.source);
});

window.simpleirDemo = {
  metrics: () => (state.metrics ? { ...state.metrics, mainThreadMaxBlockMs: mainThreadMaxBlockMs() } : null),
  status: () => ({
    source: state.source,
    preset: (state.loaded?.preset ?? ui.preset.value) as PresetName,
    trained: state.loaded?.trained ?? false,
    backend: state.backend?.name ?? null,
    fallbackAdapter: state.backend?.fallbackAdapter ?? false,
    backendChoice: state.backend?.probe ? { probe: state.backend.probe, skipped: state.backend.skipped, wasmThreads: state.backend.wasmThreads } : null,
    split: { original: state.originalTimestamp, restored: state.restoredTimestamp },
    framesSeen: state.framesSeen,
    framesShown: state.framesShown,
    temporal: state.temporal,
    worker: state.worker,
    learning: state.learning,
    learnerSteps: state.learnerSteps,
    error: state.error,
  }),
  capture: () => {
    if (state.pairTimestamp === null) return null;
    return {
      timestamp: state.pairTimestamp,
      width: ui.restored.width,
      height: ui.restored.height,
      original: ui.original.toDataURL('image/png'),
      restored: ui.restored.toDataURL('image/png'),
    };
  },
};

const wanted = queryChoice<SourceChoice | 'auto'>('source', ['camera', 'sample', 'auto'], 'auto');
const hasCamera = typeof navigator.mediaDevices?.getUserMedia === 'function';
if (!hasCamera && wanted !== 'sample') setBanner(ui.banner, 'This browser gives the page no camera (it needs a secure context). Playing the bundled sample clip instead.', 'warn');
state.source = wanted === 'sample' || !hasCamera ? 'sample' : 'camera';
renderLearning(null);
await reconfigure();
