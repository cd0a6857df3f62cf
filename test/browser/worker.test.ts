/**
 * The model in a dedicated worker (`loadWorkerModel`, wasm inside the worker), in headless Chromium: an
 * MP4 and the fake webcam restored through the worker equal the same model on the page's thread within
 * 1/255, in order, with every VideoFrame closed (and WebGPU in the worker, on its own device, equals WebGPU
 * on the page); unsubscribing and disposing release everything; a
 * crashing worker fails the stream with WORKER_FAILED, and so does a worker script that is not there;
 * online Review Learning runs in the worker while frames flow.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bundleForBrowser, createBrowserFixture, runInPage, type BrowserFixture, type TestPage } from './harness';
import type { CompareResult } from './pages/worker-entry';
import { fixtureDir, makeMp4, makeY4m, type FixtureDir } from './video-fixtures';

let fx: BrowserFixture | undefined;
let page: TestPage;
let media: FixtureDir;
let workerUrl: string;
let crashUrl: string;

before(async () => {
  media = await fixtureDir();
  await makeMp4(media.dir, 'h264-moov-end');
  const y4m = await makeY4m(media.dir, 'camera', 64, 48, 30, 2);
  workerUrl = (await bundleForBrowser('src/worker.ts')).url;
  crashUrl = (await bundleForBrowser('test/browser/pages/worker-crash-worker.ts')).url;
  fx = await createBrowserFixture({ fakeVideo: y4m, routes: { '/media/': media.dir } });
  page = await fx.open('/blank.html', { entry: 'test/browser/pages/worker-entry.ts' });
});

after(async () => {
  await fx?.close();
  await media?.remove();
});

function checkSame(r: CompareResult, frames: number, what: string, backend = 'wasm'): void {
  console.log(`# ${what}: ${r.timestamps.length} frames, max diff ${r.maxDiff}/255 against the page's thread, mean change ${r.changed.toFixed(2)}/255, worker backend ${r.workerBackend}, metrics backend ${r.metrics?.backend}`);
  assert.equal(r.timestamps.length, frames);
  assert.deepEqual(r.timestamps, r.reference, 'same frames, same order as on the page');
  for (let i = 1; i < r.timestamps.length; i++) assert.ok(r.timestamps[i]! > r.timestamps[i - 1]!, 'in order');
  assert.ok(r.maxDiff <= 1, `worker and page differ by ${r.maxDiff}/255`);
  assert.ok(r.changed > 0.5, `the restored frames equal their inputs (mean change ${r.changed}/255): the model did nothing`);
  assert.equal(r.workerBackend, backend);
  assert.equal(r.metrics?.backend, backend, "the metrics report the worker's backend");
  assert.equal(r.metrics?.framesOut, frames);
  assert.equal(r.leaks.openFrames, 0, `${r.leaks.openFrames} VideoFrame(s) left open`);
}

test('an MP4 restored in the worker equals the page-thread model within 1/255, in order, every frame closed', async () => {
  const r = await runInPage(page, (a) => window.compareMp4(a.url, a.worker), { url: '/media/h264-moov-end.mp4', worker: workerUrl });
  checkSame(r, 15, 'mp4');
});

test('fake-camera frames restored in the worker equal the page-thread model within 1/255', async () => {
  const r = await runInPage(page, (a) => window.compareCamera(5, a.worker), { worker: workerUrl });
  checkSame(r, 5, 'camera');
});

test('unsubscribing closes frames in flight when they come back; dispose() ends the worker and rejects with DISPOSED', async () => {
  const r = await runInPage(page, (a) => window.teardown(a.url, a.worker), { url: '/media/h264-moov-end.mp4', worker: workerUrl });
  console.log(`# teardown: ${JSON.stringify(r)}`);
  assert.equal(r.received, 2);
  assert.equal(r.inFlightOnDispose, 'DISPOSED');
  assert.equal(r.afterDispose, 'DISPOSED');
  assert.equal(r.leaks.openFrames, 0, `${r.leaks.openFrames} VideoFrame(s) left open`);
  assert.ok(r.leaks.decoders.every((s) => s === 'closed'), `decoders: ${r.leaks.decoders}`);
});

test('a worker that crashes mid-stream fails the stream with WORKER_FAILED; no frame is left open', async () => {
  const r = await runInPage(page, (a) => window.crash(a.url, a.worker), { url: '/media/h264-moov-end.mp4', worker: crashUrl });
  console.log(`# crash: ${JSON.stringify(r)}`);
  assert.equal(r.code, 'WORKER_FAILED', r.message);
  assert.match(r.message, /simulated crash/);
  assert.ok(r.framesOut < 15);
  assert.equal(r.leaks.openFrames, 0, `${r.leaks.openFrames} VideoFrame(s) left open`);
});

test('a worker script that is not there: loadWorkerModel rejects with WORKER_FAILED', async () => {
  const r = await runInPage(page, () => window.missingWorker(), undefined);
  assert.equal(r.code, 'WORKER_FAILED', r.message);
});

test('online learning in the worker: steps are taken there while restored frames keep coming', async () => {
  const r = await runInPage(page, (a) => window.learnInWorker(a.worker, 2), { worker: workerUrl }, { timeoutMs: 400_000 });
  console.log(`# learn: ${JSON.stringify(r)}`);
  assert.ok(r.steps >= 2, `steps ${r.steps}`);
  assert.ok((r.eventTypes.step ?? 0) >= 2 && (r.eventTypes.swap ?? 0) >= 1 && (r.eventTypes.domain ?? 0) >= 1, JSON.stringify(r.eventTypes));
  assert.ok(r.framesAfterFirstStep >= 3);
  assert.ok(r.completed, 'events$ completes on dispose');
  assert.equal(r.leaks.openFrames, 0, `${r.leaks.openFrames} VideoFrame(s) left open`);
});

test("WebGPU in the worker (the worker's own device: frames imported and exported on the GPU there) equals WebGPU on the page's thread within 1/255 (last: it moves the page to webgpu)", async () => {
  const r = await runInPage(page, (a) => window.compareMp4(a.url, a.worker, 'webgpu', 3), { url: '/media/h264-moov-end.mp4', worker: workerUrl }, { timeoutMs: 400_000 });
  checkSame(r, 3, 'mp4, webgpu in the worker', 'webgpu');
});
