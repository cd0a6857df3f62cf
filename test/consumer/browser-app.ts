/**
 * The browser consumer app (plain JavaScript, only `simpleir-stream/browser`), the media it is fed
 * (made by ffmpeg in a temp folder) and how a built copy of it is served, run in
 * headless Chromium and checked against the same restore done in Node from the sources.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startServer } from '../../scripts/serve';
import { launchBrowser, openPage, runInPage } from '../browser/harness';
import { readImage } from '../../src/adapters/node/image-file';
import { selectBackend } from '../../src/core/backend';
import { SimpleIR } from '../../src/core/model/simpleir';
import type { RGBImage } from '../../src/core/image';

const run = promisify(execFile);

/**
 * The app's code, the same for every bundler. It chooses no backend and passes no `wasmPaths`:
 * `SimpleIR.load` picks one itself (here wasm, from the binaries built into the package: the WebGPU
 * adapter of headless Chromium is a software one) and the app reports which.
 */
export const APP_MAIN_JS = `import { SimpleIR, currentBackend, fromMp4, toMp4, restore } from 'simpleir-stream/browser';

async function restoreImage(preset, image) {
  const model = await SimpleIR.load(preset);
  try {
    const out = await model.restore(image);
    return { width: out.width, height: out.height, channels: out.channels, data: Array.from(out.data) };
  } finally {
    model.dispose();
  }
}

async function restoreMp4(url) {
  const model = await SimpleIR.load('tiny');
  try {
    const src = fromMp4(url);
    const blob = await new Promise((resolve, reject) => {
      src.pipe(restore(model), toMp4({ source: src })).subscribe({ next: resolve, error: reject });
    });
    return Array.from(new Uint8Array(await blob.arrayBuffer()));
  } finally {
    model.dispose();
  }
}

window.consumer = {
  async run({ image, mp4Url }) {
    const input = { data: new Uint8Array(image.data), width: image.width, height: image.height, channels: image.channels };
    const tiny = await restoreImage('tiny', input);
    return {
      backend: currentBackend(),
      tiny,
      base: await restoreImage('base', input),
      mp4: await restoreMp4(mp4Url),
    };
  },
};
`;

/** The webpack 5 config of the consumer apps: production, `./main.js` into `out/` (chunks named by content). */
export const WEBPACK_CONFIG = `module.exports = {
  mode: 'production',
  entry: './main.js',
  output: { path: __dirname + '/out', filename: 'main.js', chunkFilename: '[name].[contenthash].js' },
  performance: { hints: false },
};
`;

/** The page that loads the built app (esbuild and webpack; Vite writes its own from the same). */
/** A fresh project folder `name` inside the scratch app at `appDir`, holding the app's code as `main.js`. */
export async function appProject(appDir: string, name: string, mainJs: string): Promise<string> {
  const dir = join(appDir, name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'main.js'), mainJs);
  return dir;
}

export function appHtml(script: string, module: boolean): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>consumer</title></head><body><script ${module ? 'type="module" ' : ''}src="${script}"></script></body></html>\n`;
}

/** Media for the app: an image and an MP4 made by ffmpeg, in a fresh temp folder. */
export interface AppMedia {
  dir: string;
  image: RGBImage;
  /** The MP4's file name in `dir`. */
  mp4: string;
  /** Frames in the MP4. */
  mp4Frames: number;
}

/** Makes the image (48x32, a Mandelbrot picture with noise) and a 64x48 H.264 clip of 8 frames. */
export async function makeMedia(): Promise<AppMedia> {
  const dir = await mkdtemp(join(tmpdir(), 'simpleir-consumer-media-'));
  const png = join(dir, 'input.png');
  await run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'mandelbrot=size=48x32', '-vf', 'noise=alls=40:all_seed=7', '-frames:v', '1', png]);
  const mp4 = 'clip.mp4';
  await run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=8', '-frames:v', '8', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', join(dir, mp4)]);
  return { dir, image: await readImage(png), mp4, mp4Frames: 8 };
}

/** What the app returns. */
interface AppResult {
  backend: string;
  tiny: { width: number; height: number; channels: number; data: number[] };
  base: { width: number; height: number; channels: number; data: number[] };
  mp4: number[];
}

/** `SimpleIR.load(preset)` + `restore` in Node from the sources (wasm): the reference for the app's output. */
export async function restoreInNode(preset: 'tiny' | 'base', image: RGBImage): Promise<RGBImage> {
  await selectBackend('wasm');
  const model = await SimpleIR.load(preset);
  try {
    return await model.restore(image);
  } finally {
    model.dispose();
  }
}

/** Frames and size of a video file, counted by ffprobe. */
export async function probeFrames(file: string): Promise<{ frames: number; width: number; height: number }> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames,width,height', '-of', 'json', file]);
  const s = (JSON.parse(stdout) as { streams: { nb_read_frames: string; width: number; height: number }[] }).streams[0];
  assert.ok(s, `ffprobe found no video stream in ${file}`);
  return { frames: Number(s.nb_read_frames), width: s.width, height: s.height };
}

/**
 * Serves `outDir` (the built app, `page` its HTML) with the media at `/media/`, runs the app in headless
 * Chromium and checks what it returns: both presets' restores equal the Node restore (within 3 levels of
 * 255), differ from the input, and the MP4 has every frame; `load()` chose wasm and the page logged no
 * errors (a .wasm file answered 404 would be one).
 */
export async function runAndCheckApp(outDir: string, page: string, media: AppMedia): Promise<AppResult> {
  const server = await startServer({ root: outDir, routes: { '/media/': media.dir } });
  let context: Awaited<ReturnType<typeof launchBrowser>> | undefined;
  try {
    context = await launchBrowser();
    const tp = await openPage(context, server.url, page);
    await tp.page.waitForFunction(() => (window as unknown as { consumer?: unknown }).consumer !== undefined);
    const { image } = media;
    const result = await runInPage(
      tp,
      (arg) => (window as unknown as { consumer: { run(a: unknown): Promise<AppResult> } }).consumer.run(arg),
      { image: { data: Array.from(image.data), width: image.width, height: image.height, channels: image.channels }, mp4Url: `/media/${media.mp4}` },
      { timeoutMs: 600_000 },
    );
    console.log(`# ${outDir}: backend ${result.backend}`);
    // No wasm binary is missing (a 404 is a console error) and nothing else went wrong on the page.
    assert.deepEqual(tp.errors, [], 'the page logged errors');
    assert.equal(result.backend, 'wasm', 'SimpleIR.load chose a backend other than wasm (the WebGPU adapter here is a software one)');
    for (const preset of ['tiny', 'base'] as const) {
      const got = result[preset];
      assert.deepEqual([got.width, got.height, got.channels], [image.width, image.height, image.channels], `${preset}: output size`);
      const want = await restoreInNode(preset, image);
      let maxDiff = 0;
      let changed = 0;
      for (let i = 0; i < want.data.length; i++) {
        const v = got.data[i]!;
        assert.ok(Number.isInteger(v) && v >= 0 && v <= 255, `${preset}: value ${v} at ${i}`);
        maxDiff = Math.max(maxDiff, Math.abs(v - want.data[i]!));
        changed += Math.abs(v - image.data[i]!);
      }
      assert.ok(maxDiff <= 3, `${preset}: the app's restore differs from Node's by up to ${maxDiff} levels`);
      assert.ok(changed / want.data.length > 0.5, `${preset}: the restore left the input almost unchanged (mean change ${changed / want.data.length})`);
    }
    const out = join(media.dir, `restored-${Date.now()}.mp4`);
    await writeFile(out, new Uint8Array(result.mp4));
    const probe = await probeFrames(out);
    assert.deepEqual(probe, { frames: media.mp4Frames, width: 64, height: 48 }, 'restored MP4: frames and size');
    return result;
  } finally {
    await context?.close().catch(() => undefined);
    await server.close();
  }
}
