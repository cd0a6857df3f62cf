/**
 * Reliability: bad arguments to every public function of `simpleir-stream` and `simpleir-stream/node`
 * (the browser-only exports are covered in test/browser/reliability.test.ts). Each call must fail
 * with a SimpleIRError whose message says what was expected (thrown, rejected, or as the error of the
 * returned Observable), never a TypeError from deep inside. A completeness check makes every new
 * export need a case here.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Observable, of } from 'rxjs';
import * as sdk from '../src/index.js';
import * as nodeSdk from '../src/node.js';
// Internals, no longer exported (see CHANGELOG.md): their errors are still what a user sees through the public calls.
import { createY4mWriter, readY4m, rgbToYuv420, yuv420ToRgb } from '../src/adapters/node/y4m.js';
import { flopsPerPixel, paramCount, validateConfig } from '../src/core/config.js';
import { blur, haze, lowlight, noise, rain, snow } from '../src/core/degrade/index.js';
import { validateImage } from '../src/core/image.js';
import { TemporalFilter } from '../src/core/temporal/index.js';
import { decodeWeights, encodeWeights, packWeights, unpackWeights } from '../src/core/weights.js';
import { selectFrameConverter } from '../src/streams/frames.js';
import { isPullSource } from '../src/streams/pull.js';
import { makeFrame } from './helpers/streams.js';
import { tf, useBackend } from './helpers/tf.js';

/** What a call did. */
interface Outcome {
  readonly kind: 'typed' | 'untyped' | 'none';
  readonly code?: string;
  readonly message: string;
}

/** Runs `fn`, awaiting a promise and subscribing to an Observable (its first error or value within 2 s). */
async function outcome(fn: () => unknown): Promise<Outcome> {
  try {
    let v = fn();
    if (v instanceof Observable) {
      v = await new Promise((resolve, reject) => {
        const sub = (v as Observable<unknown>).subscribe({ next: resolve, error: reject, complete: () => resolve(undefined) });
        setTimeout(() => {
          sub.unsubscribe();
          resolve(undefined);
        }, 2000);
      });
    } else if (v && typeof (v as Promise<unknown>).then === 'function') {
      await v;
    }
    return { kind: 'none', message: '' };
  } catch (e) {
    if (sdk.isSimpleIRError(e)) return { kind: 'typed', code: e.code, message: e.message };
    return { kind: 'untyped', message: `${(e as Error)?.name}: ${(e as Error)?.message ?? String(e)}` };
  }
}

/** A message that helps: long enough to say what was expected, and not a JavaScript engine's words. */
function unhelpful(message: string): string | null {
  if (message.length < 25) return 'too short';
  if (/Cannot read propert|is not a function|is not iterable|undefined \(reading|Cannot destructure/.test(message)) return 'an engine error passed through';
  return null;
}

let dir: string;
let model: sdk.SimpleIR;
/** Tensors the cases use as (bad) inputs: made once, disposed at the end. */
let img: tf.Tensor3D;
let small: tf.Tensor3D;
let rgba: tf.Tensor3D;

before(async () => {
  await useBackend('wasm');
  dir = await mkdtemp(join(tmpdir(), 'simpleir-bad-args-'));
  model = sdk.SimpleIR.create('tiny');
  img = tf.zeros([8, 8, 3]);
  small = tf.zeros([4, 4, 3]);
  rgba = tf.zeros([8, 8, 4]);
});
after(async () => {
  model.dispose();
  tf.dispose([img, small, rgba]);
  await rm(dir, { recursive: true, force: true });
});

const frame = (): sdk.NodeFrame => makeFrame(0, 8, 8);

/** Bad calls by export name (and by the name of internals that public calls reach: imported above). Ours: fixed where they failed. */
function cases(): Record<string, [string, () => unknown][]> {
  return {
    validateConfig: [['null', () => validateConfig(null)], ['{ width: -1 }', () => validateConfig({ ...sdk.PRESETS.tiny, width: -1 })]],
    paramCount: [['"huge"', () => paramCount('huge' as never)]],
    flopsPerPixel: [['{}', () => flopsPerPixel({} as never)]],
    SimpleIR: [
      ['create("huge")', () => sdk.SimpleIR.create('huge' as never)],
      ['create({ width: 3 })', () => sdk.SimpleIR.create({ ...sdk.PRESETS.tiny, width: 3 })],
      ['load(42)', () => sdk.SimpleIR.load(42 as never)],
      ['load(null)', () => sdk.SimpleIR.load(null as never)],
      ['load("")', () => sdk.SimpleIR.load('')],
      ['load("no/such/file.json")', () => sdk.SimpleIR.load(join(dir, 'no/such/file.json'))],
      ['restore(null)', () => model.restore(null as never)],
      ['restore({ data: [1, 2], width: 1, height: 1 })', () => model.restore({ data: [1, 2], width: 1, height: 1, channels: 3 } as never)],
      ['restore(2x2 image) (below the scale)', () => model.restore({ data: new Uint8Array(12), width: 2, height: 2, channels: 3 })],
      ['restore(tensor [8, 8, 4])', () => model.restore(rgba)],
      ['setWeights(new Map([["nope", ...]]))', () => model.setWeights(new Map([['nope', new Float32Array(1)]]))],
    ],
    encodeWeights: [['(tiny, empty map)', () => encodeWeights(sdk.PRESETS.tiny, new Map())]],
    decodeWeights: [['(manifest, 42)', () => decodeWeights(model.toWeightFiles().manifest, 42 as never)], ['(null, bytes)', () => decodeWeights(null, new Uint8Array(4))]],
    packWeights: [['(undefined)', () => packWeights(undefined as never)], ['({ manifest: {} })', () => packWeights({ manifest: {} } as never)]],
    unpackWeights: [['(-1)', () => unpackWeights(-1 as never)], ['(4 zero bytes)', () => unpackWeights(new Uint8Array(4))]],
    selectBackend: [
      ['("cuda")', () => sdk.selectBackend('cuda' as never)],
      ['(42)', () => sdk.selectBackend(42 as never)],
      ['(["wasm", "gpu"])', () => sdk.selectBackend(['wasm', 'gpu'] as never)],
      ['("auto", { probe: { width: -1 } })', () => sdk.selectBackend('auto', { probe: { width: -1 } })],
      ['("auto", { probe: { preset: "huge" } })', () => sdk.selectBackend('auto', { probe: { preset: 'huge' as never } })],
      ['("auto", { probeBudgetMs: 0 })', () => sdk.selectBackend('auto', { probeBudgetMs: 0 })],
    ],
    backendReady: [['(42)', () => sdk.backendReady(42 as never)], ['({ probe: 7 })', () => sdk.backendReady({ probe: 7 as never })]],
    validateImage: [['(null)', () => validateImage(null as never)], ['(width 0)', () => validateImage({ data: new Uint8Array(0), width: 0, height: 1, channels: 3 })]],
    createDegradation: [['("fog")', () => sdk.createDegradation('fog' as never)], ['("rain", 42)', () => sdk.createDegradation('rain', 42 as never)]],
    rain: [['(null)', () => rain(null as never)], ['({ strength: 2 })', () => rain({ strength: 2 })], ['.apply(42)', () => rain().apply(42 as never)]],
    snow: [['("heavy")', () => snow('heavy' as never)], ['({ seed: NaN })', () => snow({ seed: NaN })]],
    lowlight: [['(-1)', () => lowlight(-1 as never)]],
    blur: [['(null)', () => blur(null as never)], ['.apply(img, 42)', () => blur().apply(img, 42 as never)]],
    haze: [['([])', () => haze([] as never)]],
    noise: [['({ strength: -1 })', () => noise({ strength: -1 })]],
    psnr: [['(undefined, undefined)', () => sdk.psnr(undefined as never, undefined as never)], ['(img, 42)', () => sdk.psnr(img, 42 as never)], ['([8,8,3], [4,4,3])', () => sdk.psnr(img, small)]],
    ssim: [['(null, null)', () => sdk.ssim(null as never, null as never)]],
    restore: [
      ['(undefined)', () => sdk.restore(undefined as never)],
      ['(model, { mode: "fast" })', () => sdk.restore(model, { mode: 'fast' as never })],
      ['(model, { maxInFlight: 0 })', () => sdk.restore(model, { maxInFlight: 0 })],
      ['(model, 42)', () => sdk.restore(model, 42 as never)],
      ['(model, { temporal: { frames: 1 } })', () => sdk.restore(model, { temporal: { frames: 1 } })],
      ['(model, { temporal: "on" })', () => sdk.restore(model, { temporal: 'on' as never })],
      ['(model) on a frame of floats', () => of({ ...frame(), data: new Float32Array(192) }).pipe(sdk.restore(model))],
    ],
    createRestorer: [['({})', () => sdk.createRestorer({} as never)]],
    registerFrameConverter: [['(undefined)', () => sdk.registerFrameConverter(undefined as never)], ['({ name: "x" })', () => sdk.registerFrameConverter({ name: 'x' } as never)]],
    // Not exported (restore picks the converter); its error is what a user sees for a frame of no known kind.
    selectFrameConverter: [['(null)', () => selectFrameConverter(null)], ['({ data: "x" })', () => selectFrameConverter({ data: 'x' })]],
    pullSource: [['(42)', () => sdk.pullSource(42 as never)]],
    pullFrom: [
      ['(undefined, {})', () => sdk.pullFrom(undefined as never, {})],
      ['(a pull source, 42)', () => sdk.pullFrom(sdk.pullSource(() => undefined), 42 as never)],
    ],
    createOnlineLearner: [['(undefined)', () => sdk.createOnlineLearner(undefined as never)], ['(model, 42)', () => sdk.createOnlineLearner(model, 42 as never)]],
    ObservableLearner: [['new (null)', () => new sdk.ObservableLearner(null as never)]],
    reviewLearning: [
      ['({}, { domain: "x", pairs: "synthesize" })', () => sdk.reviewLearning({} as never, { domain: 'x', pairs: 'synthesize' })],
      ['(learner, undefined)', () => {
        const learner = sdk.createOnlineLearner(model);
        try {
          return sdk.reviewLearning(learner, undefined as never);
        } finally {
          learner.dispose();
        }
      }],
    ],
    // simpleir-stream/node
    readImage: [['(42)', () => nodeSdk.readImage(42 as never)], ['(missing file)', () => nodeSdk.readImage(join(dir, 'none.png'))], ['(path, { channels: 2 })', () => nodeSdk.readImage(join(dir, 'none.png'), { channels: 2 as never })]],
    writeImage: [['(undefined, img)', () => nodeSdk.writeImage(undefined as never, frame() as never)], ['("x.gif", img)', () => nodeSdk.writeImage(join(dir, 'x.gif'), frame() as never)], ['("x.png", null)', () => nodeSdk.writeImage(join(dir, 'x.png'), null as never)]],
    imageInfo: [['(42)', () => nodeSdk.imageInfo(42 as never)], ['(missing file)', () => nodeSdk.imageInfo(join(dir, 'none.png'))]],
    readY4m: [['(42)', () => readY4m(42 as never)], ['(missing file)', () => readY4m(join(dir, 'none.y4m'))]],
    createY4mWriter: [['(path, undefined)', () => createY4mWriter(join(dir, 'a.y4m'), undefined as never)], ['(42, options)', () => createY4mWriter(42 as never, { width: 2, height: 2, fps: { num: 25, den: 1 } })], ['(path, { width: 0 })', () => createY4mWriter(join(dir, 'a.y4m'), { width: 0, height: 2, fps: { num: 25, den: 1 } })]],
    yuv420ToRgb: [['(undefined)', () => yuv420ToRgb(undefined as never)], ['(short planes)', () => yuv420ToRgb({ y: new Uint8Array(1), u: new Uint8Array(1), v: new Uint8Array(1), width: 2, height: 2 })]],
    rgbToYuv420: [['(null)', () => rgbToYuv420(null as never)]],
    listImages: [['(42)', () => nodeSdk.listImages(42 as never)], ['(missing folder)', () => nodeSdk.listImages(join(dir, 'none'))]],
    loadPhotoSet: [['(null)', () => nodeSdk.loadPhotoSet(null as never)], ['(empty folder)', () => nodeSdk.loadPhotoSet(dir)]],
    createPhotoPairSource: [['(undefined)', () => nodeSdk.createPhotoPairSource(undefined as never)], ['({ files: "a.png" })', () => nodeSdk.createPhotoPairSource({ files: 'a.png' as never })], ['({ files: [] })', () => nodeSdk.createPhotoPairSource({ files: [] })]],
    ValidationSet: [['.create({})', () => nodeSdk.ValidationSet.create({} as never)], ['.create({ files: [], tasks: 42 })', () => nodeSdk.ValidationSet.create({ files: [], tasks: 42 } as never)]],
    saveCheckpoint: [['(undefined, {})', () => nodeSdk.saveCheckpoint(undefined as never, {} as never)], ['(dir, {})', () => nodeSdk.saveCheckpoint(join(dir, 'ck'), {} as never)]],
    loadCheckpoint: [['(42)', () => nodeSdk.loadCheckpoint(42 as never)]],
    fromY4m: [['(42)', () => nodeSdk.fromY4m(42 as never)], ['(missing file)', () => nodeSdk.fromY4m(join(dir, 'none.y4m'))]],
    probeY4m: [['(null)', () => nodeSdk.probeY4m(null as never)], ['(missing file)', () => nodeSdk.probeY4m(join(dir, 'none.y4m'))]],
    toY4m: [['(42)', () => nodeSdk.toY4m(42 as never)], ['({})', () => nodeSdk.toY4m({} as never)]],
    fromFfmpeg: [['(42)', () => nodeSdk.fromFfmpeg(42 as never)], ['(missing file)', () => nodeSdk.fromFfmpeg(join(dir, 'none.mp4'))]],
    toFfmpeg: [['(undefined)', () => nodeSdk.toFfmpeg(undefined as never)], ['(odd-size frames)', () => of(makeFrame(0, 7, 7)).pipe(nodeSdk.toFfmpeg(join(dir, 'odd.mp4')))]],
    probeVideoFile: [['({})', () => nodeSdk.probeVideoFile({} as never)], ['(missing file)', () => nodeSdk.probeVideoFile(join(dir, 'none.mp4'))]],
    fromImageFiles: [['(undefined)', () => nodeSdk.fromImageFiles(undefined as never)], ['(42)', () => nodeSdk.fromImageFiles(42 as never)], ['(["missing.png"])', () => nodeSdk.fromImageFiles([join(dir, 'missing.png')])]],
    toImageFiles: [['(null)', () => nodeSdk.toImageFiles(null as never)]],
    frameSink: [['("open")', () => nodeSdk.frameSink('open' as never)]],
    folderLearnerStore: [['(42)', () => nodeSdk.folderLearnerStore(42 as never)], ['("")', () => nodeSdk.folderLearnerStore('')]],
  };
}

/**
 * Exports of src/core/review, which another change owns: their bad-argument behaviour is reported
 * here (a todo test) and listed in docs/reliability.md, not fixed in this change.
 */
function reviewCases(): Record<string, [string, () => unknown][]> {
  return {
    OfflineTrainer: [['new (undefined)', () => new (sdk.OfflineTrainer as unknown as new (...a: unknown[]) => unknown)(undefined)]],
    TemporalFilter: [
      ['new ({ frames: 40 })', () => new TemporalFilter({ frames: 40 })],
      ['new ("fast")', () => new TemporalFilter('fast' as never)],
      ['new ().process(undefined)', () => new TemporalFilter().process(undefined as never)],
    ],
    OnlineLearner: [['new (null)', () => new sdk.OnlineLearner(null as never)]],
    exportReplayMemory: [['(null)', () => sdk.exportReplayMemory(null as never)]],
    importReplayMemory: [['(undefined)', () => sdk.importReplayMemory(undefined as never)]],
  };
}

/** Exports that take any value by design, or none, or are not functions one calls with arguments. */
const EXEMPT: Record<string, string> = {
  isSimpleIRError: 'a predicate: false for anything that is not a SimpleIRError',
  currentBackend: 'takes no argument',
  clearBackendCache: 'takes no argument',
  SimpleIRError: 'the error class itself',
};

async function failures(table: Record<string, [string, () => unknown][]>): Promise<{ lines: string[]; count: number }> {
  const lines: string[] = [];
  let count = 0;
  for (const [name, calls] of Object.entries(table)) {
    for (const [label, call] of calls) {
      count++;
      const r = await outcome(call);
      const why = r.kind === 'typed' ? unhelpful(r.message) : r.kind === 'untyped' ? `untyped: ${r.message}` : 'no error at all';
      if (why) lines.push(`${name}${label.startsWith('.') || label.startsWith('new') ? ' ' : ''}${label}: ${why}${r.kind === 'typed' ? ` (${r.code}: ${r.message})` : ''}`);
    }
  }
  return { lines, count };
}

test('every function and class export of simpleir-stream and simpleir-stream/node has bad-argument cases here', () => {
  const covered = new Set([...Object.keys(cases()), ...Object.keys(reviewCases()), ...Object.keys(EXEMPT)]);
  const exported = Object.entries({ ...sdk, ...nodeSdk })
    .filter(([, v]) => typeof v === 'function' || (typeof v === 'object' && v !== null && 'toTensor' in v))
    .map(([k]) => k);
  const missing = exported.filter((k) => !covered.has(k));
  assert.deepEqual(missing, [], 'exports without bad-argument cases');
});

test('bad arguments to the SDK (simpleir-stream, simpleir-stream/node): typed errors with a helpful message', async () => {
  const tensors = tf.memory().numTensors;
  const { lines, count } = await failures(cases());
  console.log(`# ${count} bad calls to ${Object.keys(cases()).length} exports; ${lines.length} without a typed, helpful error`);
  assert.deepEqual(lines, []);
  assert.equal(tf.memory().numTensors, tensors, 'failed calls left tensors behind');
  assert.equal(isPullSource(undefined as never), false);
  assert.equal(isPullSource(null as never), false);
});

test('bad arguments to the Review Learning exports: typed errors with a helpful message', async () => {
  const { lines } = await failures(reviewCases());
  assert.deepEqual(lines, []);
});
