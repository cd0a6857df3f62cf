/**
 * Node-side fixtures of the demo tests (test/browser/demo-*.test.ts): the weights the pages load (the
 * shipped `weights/tiny.*`, else the training checkpoint renamed), a clean scene (a fetched photograph,
 * else the project's `syntheticScene`), clips with synthetic rain written as y4m by the project's own
 * writer, PSNR of RGB(A) buffers, and the screenshot folder.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../src/core/backend';
import { SimpleIR } from '../../../src/core/model/simpleir';
import { rain, syntheticScene } from '../../../src/core/degrade/index';
import { decodeWeights } from '../../../src/core/weights';
import { createY4mWriter, rgbToYuv420 } from '../../../src/adapters/node/y4m';
import { REPO_ROOT, runInPage, type TestPage } from '../harness';
import type { DemoStatus } from '../../../examples/live/main';
import type { RestoreMetrics } from '../../../src/streams/metrics';

/** Where the demo tests save their screenshots (git-ignored). */
export const ARTIFACTS_DIR = join(REPO_ROOT, 'artifacts');

/** Makes {@link ARTIFACTS_DIR} and returns the path of `name` in it. */
export async function artifactPath(name: string): Promise<string> {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  return join(ARTIFACTS_DIR, name);
}

/** A folder to serve at `/weights/` holding `tiny.json` + `tiny.bin`. */
export interface DemoWeights {
  readonly dir: string;
  /** Which weights these are, for the test log. */
  readonly source: string;
  remove(): Promise<void>;
}

/**
 * The shipped `weights/` folder when it has `tiny.json`; otherwise a temporary folder with the training
 * checkpoint `training/tiny/weights.{json,bin}` as `tiny.{json,bin}` (the manifest's `weightsFile`
 * rewritten). The checkpoint is rewritten while training runs: a torn pair (checksum mismatch) is read again.
 */
export async function demoWeights(): Promise<DemoWeights> {
  const shipped = join(REPO_ROOT, 'weights');
  if (existsSync(join(shipped, 'tiny.json'))) return { dir: shipped, source: 'weights/tiny.json (shipped)', remove: async () => undefined };
  const from = join(REPO_ROOT, 'training/tiny');
  let lastError: unknown;
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      const manifest = JSON.parse(await readFile(join(from, 'weights.json'), 'utf8')) as { weightsFile: string; [k: string]: unknown };
      const data = await readFile(join(from, manifest.weightsFile));
      decodeWeights(manifest, data);
      const dir = await mkdtemp(join(tmpdir(), 'simpleir-demo-weights-'));
      await writeFile(join(dir, 'tiny.json'), JSON.stringify({ ...manifest, weightsFile: 'tiny.bin' }));
      await writeFile(join(dir, 'tiny.bin'), data);
      return { dir, source: 'training/tiny/weights.json (checkpoint; weights/tiny.json is not shipped yet)', remove: () => rm(dir, { recursive: true, force: true }) };
    } catch (e) {
      lastError = e;
      await new Promise((r) => setTimeout(r, 1500));
    }
  }
  throw new Error(`neither weights/tiny.json nor a readable training/tiny checkpoint: ${String(lastError)}`);
}

/** A clean RGB frame and where it came from. */
export interface CleanScene {
  readonly rgb: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly source: string;
}

/**
 * A clean `width` x `height` RGB frame: the validation photograph EveningGlow (boats at sunset) when the
 * photos were fetched (`npm run fetch-photos`), else the project's seeded `syntheticScene`.
 */
export async function cleanScene(width: number, height: number): Promise<CleanScene> {
  const photo = join(REPO_ROOT, '.cache/photos/val/plasma-EveningGlow.jpg');
  if (existsSync(photo)) {
    const { data } = await sharp(photo).resize({ width, height, fit: 'cover' }).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    return { rgb: new Uint8Array(data), width, height, source: 'photo EveningGlow' };
  }
  await ensureBackend();
  const t = tf.tidy(() => tf.cast(tf.round(tf.mul(syntheticScene(height, width, 7), 255)), 'int32'));
  const rgb = Uint8Array.from(await t.data());
  t.dispose();
  return { rgb, width, height, source: 'syntheticScene (no photos fetched)' };
}

let backendReady: Promise<unknown> | undefined;
/** Selects tfjs's wasm backend in this (Node) process, once. */
export function ensureBackend(): Promise<unknown> {
  return (backendReady ??= selectBackend('wasm'));
}

/** The `tiny` weights in `weightsDir` run in this process (wasm) on an RGBA frame, as the pages restore it per frame; returns RGB bytes. */
export async function restoreInNode(weightsDir: string, rgba: Uint8Array, width: number, height: number): Promise<Uint8Array> {
  await ensureBackend();
  const model = await SimpleIR.load(join(weightsDir, 'tiny.json'));
  try {
    const out = tf.tidy(() => {
      const x = tf.div(tf.cast(tf.slice(tf.tensor3d(rgba, [height, width, 4], 'int32'), [0, 0, 0], [-1, -1, 3]), 'float32'), 255).expandDims(0) as tf.Tensor4D;
      return tf.cast(tf.round(tf.mul(model.predict(x), 255)), 'int32');
    });
    const bytes = Uint8Array.from(await out.data());
    out.dispose();
    return bytes;
  } finally {
    model.dispose();
  }
}

/** Options of {@link writeRainClip}. */
export interface RainClipOptions {
  readonly frames: number;
  readonly fps: number;
  readonly seed: number;
  readonly strength: number;
  /** True: every frame has the rain of time 0 (a still picture, so the clean frame is known at any time); false: the rain falls. */
  readonly still: boolean;
}

/**
 * Writes `scene` with synthetic rain to a y4m file (BT.601, limited range, as a webcam gives) and returns
 * the RGB of its first frame.
 */
export async function writeRainClip(path: string, scene: CleanScene, o: RainClipOptions): Promise<Uint8Array> {
  await ensureBackend();
  const { width, height } = scene;
  const degradation = rain({ seed: o.seed, strength: o.strength });
  const clean = tf.tidy(() => tf.div(tf.cast(tf.tensor3d(scene.rgb, [height, width, 3], 'int32'), 'float32'), 255) as tf.Tensor3D);
  const writer = createY4mWriter(path, { width, height, fps: { num: o.fps, den: 1 }, range: 'limited' });
  let first: Uint8Array | undefined;
  let still: Uint8Array | undefined;
  try {
    for (let i = 0; i < o.frames; i++) {
      let rgb = still;
      if (!rgb) {
        const bytes = tf.tidy(() => tf.cast(tf.round(tf.mul(degradation.apply(clean, { time: o.still ? 0 : i / o.fps }), 255)), 'int32'));
        rgb = Uint8Array.from(await bytes.data());
        bytes.dispose();
        if (o.still) still = rgb;
      }
      first ??= rgb;
      await writer.write(rgbToYuv420({ data: rgb, width, height, channels: 3 }, { matrix: 'bt601', range: 'limited' }));
    }
  } finally {
    await writer.close();
    degradation.dispose();
    clean.dispose();
  }
  return first!;
}

/** PSNR in dB of two 8-bit images of the same size (RGB or RGBA each; alpha ignored). */
export function psnrRgb(a: Uint8Array, aChannels: number, b: Uint8Array, bChannels: number): number {
  return mseToDb(mseRgb(a, aChannels, b, bChannels));
}

/** Mean squared error (8-bit levels) of two images of the same size (RGB or RGBA each; alpha ignored). */
export function mseRgb(a: Uint8Array, aChannels: number, b: Uint8Array, bChannels: number): number {
  const n = a.length / aChannels;
  if (n !== b.length / bChannels) throw new Error(`mseRgb: ${n} pixels against ${b.length / bChannels}`);
  let se = 0;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const d = a[i * aChannels + c]! - b[i * bChannels + c]!;
      se += d * d;
    }
  }
  return se / (3 * n);
}

/** PSNR in dB of RGB frames against one clean RGB frame, the squared error pooled over every frame (as docs/temporal.md measures clips). */
export function clipPsnrRgb(frames: readonly Uint8Array[], clean: Uint8Array): number {
  if (frames.length === 0) throw new Error('clipPsnrRgb: no frames');
  return mseToDb(frames.reduce((sum, f) => sum + mseRgb(f, 3, clean, 3), 0) / frames.length);
}

function mseToDb(mse: number): number {
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

/** The RGBA pixels of a PNG data URL (as returned by the live demo's `capture()`). */
export async function decodeDataUrl(url: string): Promise<{ rgba: Uint8Array; width: number; height: number }> {
  const m = /^data:image\/png;base64,(.*)$/.exec(url);
  if (!m) throw new Error(`not a PNG data URL: ${url.slice(0, 40)}…`);
  const { data, info } = await sharp(Buffer.from(m[1]!, 'base64')).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { rgba: new Uint8Array(data), width: info.width, height: info.height };
}

/** Copies a file into the artifacts folder (e.g. a downloaded MP4 worth keeping). */
export async function keepArtifact(file: string, name: string): Promise<string> {
  const out = await artifactPath(name);
  await copyFile(file, out);
  return out;
}

/** What the live demo page reports: its status and the restore operator's last metrics. */
export interface LiveDemoSnapshot {
  status: DemoStatus;
  metrics: RestoreMetrics | null;
}

/** Polls the live demo page every `intervalMs` until `done` holds (or `timeoutMs` passes); returns the last snapshot. */
export async function waitForLiveDemo(page: TestPage, done: (s: LiveDemoSnapshot) => boolean, timeoutMs: number, intervalMs = 500): Promise<LiveDemoSnapshot> {
  const t0 = Date.now();
  for (;;) {
    const s = await runInPage(page, () => ({ status: window.simpleirDemo.status(), metrics: window.simpleirDemo.metrics() }), undefined);
    if (done(s) || Date.now() - t0 > timeoutMs) return s;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
