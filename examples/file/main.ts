/**
 * The file demo: an MP4 chosen or dropped by the user goes `fromMp4 → restore (lossless) →
 * toMp4({ source })` (per frame, temporal, temporal guided by the inputs or guided with explained votes, as its selector says),
 * with a progress bar fed by the operator's metrics; the restored MP4 (audio copied, written to the
 * origin's private file system as it is made where the browser has one) is downloaded and shown. `window.simpleirFileDemo` exposes the progress for automation.
 */
import { from, switchMap, type Observable, type Subscription } from 'rxjs';
import { createRestorer, fromMp4, toMp4, type BackendInfo, type Mp4Info, type PresetName, type RestoreMetrics } from '../../src/browser';
import { BACKEND_CHOICES, byId, describeBackend, fillSelect, loadPreset, PRESET_CHOICES, queryChoice, setBanner, startBackend, type BackendChoice, type LoadedPreset } from '../shared/setup';
import { setUpTemporalSelect, temporalOptions, type TemporalMode } from '../shared/temporal';

/** Where a run is. */
export type FileDemoPhase = 'loading' | 'idle' | 'restoring' | 'done' | 'failed' | 'cancelled';

/** What `window.simpleirFileDemo.state()` returns. */
export interface FileDemoState {
  readonly phase: FileDemoPhase;
  readonly fileName: string | null;
  readonly framesDone: number;
  readonly frameCount: number;
  readonly bytesOut: number;
  readonly error: string | null;
  readonly backend: string | null;
  readonly trained: boolean;
  /** Where the output was written: the origin private file system as it was made, or memory. */
  readonly output: 'opfs' | 'memory' | null;
  /**
   * How the current (or last) run restores: the "Restoration" selector's value when it started (`off`
   * per frame, `on` temporal, `guide` temporal guided by the inputs, `explained` guided with explained votes).
   */
  readonly temporal: TemporalMode;
}

declare global {
  interface Window {
    simpleirFileDemo: { state(): FileDemoState; metrics(): RestoreMetrics | null };
  }
}

const ui = {
  banner: byId('banner'),
  weightsBanner: byId('weights-banner'),
  drop: byId('drop'),
  file: byId<HTMLInputElement>('file'),
  useSample: byId<HTMLAnchorElement>('use-sample'),
  bar: byId('bar'),
  progressText: byId('progress-text'),
  cancel: byId<HTMLButtonElement>('cancel'),
  download: byId<HTMLAnchorElement>('download'),
  result: byId('result'),
  preview: byId<HTMLVideoElement>('preview'),
  preset: byId<HTMLSelectElement>('preset'),
  backend: byId<HTMLSelectElement>('backend'),
  temporal: byId<HTMLSelectElement>('temporal'),
  temporalNote: byId('temporal-note'),
  backendNote: byId('backend-note'),
  name: byId('i-name'),
  video: byId('i-video'),
  frames: byId('i-frames'),
  audio: byId('i-audio'),
};

const state = {
  phase: 'loading' as FileDemoPhase,
  fileName: null as string | null,
  framesDone: 0,
  frameCount: 0,
  bytesOut: 0,
  error: null as string | null,
  loaded: null as LoadedPreset | null,
  backend: null as BackendInfo | null,
  metrics: null as RestoreMetrics | null,
  run: null as Subscription | null,
  url: null as string | null,
  output: null as 'opfs' | 'memory' | null,
  temporal: 'off' as TemporalMode,
};

function setProgress(fraction: number, text: string): void {
  ui.bar.style.width = `${Math.round(Math.min(1, Math.max(0, fraction)) * 100)}%`;
  ui.progressText.textContent = text;
}

function showInfo(name: string, info: Mp4Info): void {
  const v = info.video;
  ui.name.textContent = name;
  ui.video.textContent = `${v.width}×${v.height} · ${v.codec.split('.')[0]}`;
  ui.frames.textContent = `${v.frameCount} · ${v.fps.toFixed(v.fps % 1 ? 2 : 0)} fps`;
  ui.audio.textContent = info.audio ? `${info.audio.codec} · ${info.audio.sampleRate} Hz · ${info.audio.channels} ch (copied)` : 'none';
}

/** `3.2 s`, `2 min 5 s`. */
function seconds(s: number): string {
  if (!Number.isFinite(s)) return '–';
  return s < 90 ? `${s.toFixed(s < 10 ? 1 : 0)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** Restores `file` and downloads the result. */
async function restoreFile(file: Blob, name: string): Promise<void> {
  const loaded = state.loaded;
  if (!loaded || state.phase === 'restoring') return;
  state.run?.unsubscribe();
  if (state.url) URL.revokeObjectURL(state.url);
  state.url = null;
  Object.assign(state, { phase: 'restoring', fileName: name, framesDone: 0, frameCount: 0, bytesOut: 0, error: null, metrics: null, temporal: ui.temporal.value as TemporalMode });
  ui.result.hidden = true;
  ui.download.hidden = true;
  setBanner(ui.banner, null);
  setProgress(0, 'Reading the file…');
  ui.cancel.disabled = false;
  const source = fromMp4(file);
  let info: Mp4Info;
  try {
    info = await source.info;
  } catch (e) {
    fail(e);
    return;
  }
  state.frameCount = info.video.frameCount;
  showInfo(name, info);
  const started = performance.now();
  const restorer = createRestorer<VideoFrame>(loaded.model, {
    mode: 'lossless',
    ...temporalOptions(state.temporal),
    onMetrics: (m) => {
      state.metrics = m;
      state.framesDone = m.framesOut;
      const elapsed = (performance.now() - started) / 1000;
      const rate = m.framesOut / Math.max(elapsed, 1e-3);
      const left = (state.frameCount - m.framesOut) / Math.max(rate, 1e-6);
      const text =
        m.framesOut >= state.frameCount
          ? `All ${state.frameCount} frames restored; writing the MP4…`
          : `Frame ${m.framesOut} of ${state.frameCount} · ${rate.toFixed(2)} fps · about ${seconds(left)} left`;
      setProgress(m.framesOut / Math.max(1, state.frameCount), text);
    },
  });
  const restored = source.pipe(restorer.operator);
  // Written to the origin's private file system as it is made when the browser can (a long file then
  // needs no memory for its encoded frames); else kept in memory and emitted as a Blob.
  const output: Observable<Blob> = from(opfsOutput()).pipe(
    switchMap((out) => {
      state.output = out ? 'opfs' : 'memory';
      return out ? restored.pipe(toMp4({ source, target: out.target }), switchMap(() => out.file())) : restored.pipe(toMp4({ source }));
    }),
  );
  state.run = output.subscribe({
    next: (blob) => finish(blob, name, (performance.now() - started) / 1000),
    error: (e: unknown) => fail(e),
  });
}

/** A writable file in the origin private file system (OPFS) and a way to read it back, or null where there is none. */
async function opfsOutput(): Promise<{ target: WritableStream<Uint8Array>; file: () => Promise<File> } | null> {
  try {
    const dir = await navigator.storage.getDirectory();
    const handle = await dir.getFileHandle('simpleir-restored.mp4', { create: true });
    if (typeof handle.createWritable !== 'function') return null;
    return { target: await handle.createWritable(), file: () => handle.getFile() };
  } catch {
    return null;
  }
}

function finish(blob: Blob, name: string, secs: number): void {
  state.phase = 'done';
  state.bytesOut = blob.size;
  state.framesDone = state.frameCount;
  ui.cancel.disabled = true;
  setProgress(1, `Done: ${state.frameCount} frames in ${seconds(secs)} · ${(blob.size / 1e6).toFixed(2)} MB. The download has started.`);
  state.url = URL.createObjectURL(blob);
  const outName = `${name.replace(/\.(mp4|m4v)$/i, '')}-restored.mp4`;
  ui.download.href = state.url;
  ui.download.download = outName;
  ui.download.hidden = false;
  ui.preview.src = state.url;
  ui.result.hidden = false;
  const a = document.createElement('a');
  a.href = state.url;
  a.download = outName;
  document.body.append(a);
  a.click();
  a.remove();
}

function fail(e: unknown): void {
  state.phase = 'failed';
  state.error = e instanceof Error ? e.message : String(e);
  ui.cancel.disabled = true;
  setProgress(0, 'Stopped.');
  setBanner(ui.banner, `This file could not be restored: ${state.error}`, 'error');
}

function pickFile(file: File | undefined): void {
  if (!file) return;
  void restoreFile(file, file.name);
}

// ---- controls ---------------------------------------------------------------------------------------

ui.file.addEventListener('change', () => {
  pickFile(ui.file.files?.[0]);
  ui.file.value = '';
});
for (const type of ['dragenter', 'dragover'] as const) {
  ui.drop.addEventListener(type, (e) => {
    e.preventDefault();
    ui.drop.classList.add('over');
  });
}
ui.drop.addEventListener('dragleave', () => ui.drop.classList.remove('over'));
ui.drop.addEventListener('drop', (e) => {
  e.preventDefault();
  ui.drop.classList.remove('over');
  pickFile(e.dataTransfer?.files[0]);
});
ui.useSample.addEventListener('click', (e) => {
  e.preventDefault();
  e.stopPropagation();
  void fetch('/assets/sample-rain.mp4')
    .then((r) => r.blob())
    .then((b) => restoreFile(b, 'sample-rain.mp4'));
});
ui.cancel.addEventListener('click', () => {
  state.run?.unsubscribe();
  state.run = null;
  state.phase = 'cancelled';
  ui.cancel.disabled = true;
  setProgress(0, 'Cancelled.');
});

async function setUp(): Promise<void> {
  state.phase = 'loading';
  state.run?.unsubscribe();
  state.loaded?.model.dispose();
  state.loaded = null;
  for (const el of [ui.preset, ui.backend]) el.disabled = true;
  try {
    state.backend = await startBackend(ui.backend.value as BackendChoice);
    state.loaded = await loadPreset(ui.preset.value as PresetName);
    setBanner(ui.weightsBanner, state.loaded.message, 'warn');
    ui.backendNote.textContent = `Running on ${describeBackend(state.backend)}.${state.backend.fallbackAdapter ? ' A software GPU is slow: expect seconds per frame.' : ''}`;
    state.phase = 'idle';
  } catch (e) {
    fail(e);
  } finally {
    for (const el of [ui.preset, ui.backend]) el.disabled = false;
  }
}

fillSelect(ui.preset, PRESET_CHOICES, queryChoice('preset', PRESET_CHOICES, 'tiny'));
fillSelect(ui.backend, BACKEND_CHOICES, queryChoice('backend', BACKEND_CHOICES, 'auto'));
setUpTemporalSelect(ui.temporal, ui.temporalNote);
ui.preset.addEventListener('change', () => void setUp());
ui.backend.addEventListener('change', () => void setUp());

window.simpleirFileDemo = {
  state: () => ({
    phase: state.phase,
    fileName: state.fileName,
    framesDone: state.framesDone,
    frameCount: state.frameCount,
    bytesOut: state.bytesOut,
    error: state.error,
    backend: state.backend?.name ?? null,
    trained: state.loaded?.trained ?? false,
    output: state.output,
    temporal: state.temporal,
  }),
  metrics: () => state.metrics,
};

await setUp();
