/**
 * The model worker of the packed package in Vite 7 and webpack 5 apps: `loadWorkerModel('tiny', { backend:
 * 'wasm' })` with no worker URL, so the worker comes from the package's `new Worker(new URL('./worker.js',
 * import.meta.url), { type: 'module' })`, which the bundler must find and emit. The app restores an ffmpeg MP4
 * through the worker and the same MP4 with the model on the page's thread: every frame, in order, equal
 * within 1/255. And the CommonJS build: requiring `simpleir-stream/browser` in Node does not fail on
 * `import.meta`; `loadWorkerModel` there rejects with WORKER_FAILED.
 */
import assert from 'node:assert/strict';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startServer } from '../../scripts/serve';
import { launchBrowser, openPage, runInPage } from '../browser/harness';
import { appProject, makeMedia, WEBPACK_CONFIG, type AppMedia } from './browser-app';
import { scratchApp, type ScratchApp } from './scratch';

/** `npm run test:node` (SIMPLEIR_SKIP_BROWSER=1) skips the browser tests, this one included; it says so. */
const skip = /^(1|true|yes)$/i.test(process.env.SIMPLEIR_SKIP_BROWSER ?? '') ? 'SIMPLEIR_SKIP_BROWSER=1: the worker in a Vite app not run' : false;

const MAIN_JS = `import { SimpleIR, fromMp4, loadWorkerModel, restore, selectBackend } from 'simpleir-stream/browser';
import { lastValueFrom, toArray } from 'rxjs';

function pixels(frame) {
  const canvas = new OffscreenCanvas(frame.displayWidth, frame.displayHeight);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(frame, 0, 0);
  return ctx.getImageData(0, 0, canvas.width, canvas.height).data;
}

window.consumer = {
  async run(url) {
    const worker = await loadWorkerModel('tiny', { backend: 'wasm' });
    const off = await lastValueFrom(fromMp4(url).pipe(restore(worker), toArray()));
    worker.dispose();
    await selectBackend('wasm');
    const model = await SimpleIR.load('tiny');
    const own = await lastValueFrom(fromMp4(url).pipe(restore(model), toArray()));
    const inputs = await lastValueFrom(fromMp4(url).pipe(toArray()));
    model.dispose();
    let maxDiff = 0;
    let changed = 0;
    off.forEach((frame, i) => {
      const a = pixels(frame);
      const b = pixels(own[i]);
      const x = pixels(inputs[i]);
      for (let k = 0; k < a.length; k++) {
        if (k % 4 === 3) continue;
        maxDiff = Math.max(maxDiff, Math.abs(a[k] - b[k]));
        changed += Math.abs(a[k] - x[k]) / (a.length * 0.75 * off.length);
      }
    });
    const result = { workerBackend: worker.backend.name, timestamps: off.map((f) => f.timestamp), reference: own.map((f) => f.timestamp), maxDiff, changed };
    [...off, ...own, ...inputs].forEach((f) => f.close());
    return result;
  },
};
`;

let app: ScratchApp;
let media: AppMedia;

before(async () => {
  if (skip) return;
  app = await scratchApp();
  media = await makeMedia();
});

after(async () => {
  if (media) await rm(media.dir, { recursive: true, force: true });
});

/** Serves the built app, runs it in headless Chromium and checks the worker's frames against the page's. */
async function runApp(out: string, what: string): Promise<void> {
  const server = await startServer({ root: out, routes: { '/media/': media.dir } });
  const context = await launchBrowser();
  try {
    const tp = await openPage(context, server.url, '/index.html');
    await tp.page.waitForFunction(() => (window as unknown as { consumer?: unknown }).consumer !== undefined);
    const r = await runInPage(
      tp,
      (url) => (window as unknown as { consumer: { run(u: string): Promise<{ workerBackend: string; timestamps: number[]; reference: number[]; maxDiff: number; changed: number }> } }).consumer.run(url),
      `/media/${media.mp4}`,
      { timeoutMs: 600_000 },
    );
    console.log(`# ${what} worker: ${r.timestamps.length} frames, backend ${r.workerBackend}, max diff ${r.maxDiff}/255 against the page thread, mean change ${r.changed.toFixed(2)}/255`);
    assert.equal(r.workerBackend, 'wasm');
    assert.equal(r.timestamps.length, media.mp4Frames);
    assert.deepEqual(r.timestamps, r.reference);
    assert.ok(r.maxDiff <= 1, `worker and page differ by ${r.maxDiff}/255`);
    assert.ok(r.changed > 0.5, `the restored frames equal their inputs (mean change ${r.changed}/255)`);
    assert.deepEqual(tp.errors, [], 'the page logged errors');
  } finally {
    await context.close().catch(() => undefined);
    await server.close();
  }
}

const HTML = '<!doctype html><html><head><meta charset="utf-8"><title>worker</title></head><body><script type="module" src="./main.js"></script></body></html>\n';

test('Vite 7 emits the package worker; an MP4 restored through it equals the page-thread model within 1/255', { skip }, async () => {
  const dir = await appProject(app.dir, 'worker-vite-app', MAIN_JS);
  await writeFile(join(dir, 'index.html'), HTML);
  await app.exec(join(app.dir, 'node_modules/.bin/vite'), ['build', '--outDir', 'out', '--emptyOutDir', '--logLevel', 'warn'], { cwd: dir });
  const assets = await readdir(join(dir, 'out', 'assets'));
  assert.ok(assets.some((f) => /^worker-[\w-]+\.js$/.test(f)), `Vite emitted no worker file: ${assets.join(', ')}`);
  await runApp(join(dir, 'out'), 'vite');
});

test('webpack 5 emits the package worker; an MP4 restored through it equals the page-thread model within 1/255', { skip }, async () => {
  const dir = await appProject(app.dir, 'worker-webpack-app', MAIN_JS);
  await writeFile(join(dir, 'webpack.config.cjs'), WEBPACK_CONFIG);
  await app.exec(join(app.dir, 'node_modules/.bin/webpack'), ['--config', 'webpack.config.cjs'], { cwd: dir });
  await writeFile(join(dir, 'out', 'index.html'), HTML);
  await runApp(join(dir, 'out'), 'webpack');
});

test('the CommonJS browser build loads in Node despite import.meta; loadWorkerModel rejects with WORKER_FAILED there', { skip }, async () => {
  const script = "const b = require('simpleir-stream/browser'); b.loadWorkerModel('tiny').then(() => console.log('loaded'), (e) => console.log(e.code));";
  const { stdout } = await app.exec(process.execPath, ['-e', script]);
  assert.equal(stdout.trim().split('\n').at(-1), 'WORKER_FAILED');
});
