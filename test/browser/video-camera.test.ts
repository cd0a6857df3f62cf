/**
 * Live video in headless Chromium: the fake webcam (fed a y4m made here) through fromCamera and
 * fromMediaStream (MediaStreamTrackProcessor and the <video> fallback) -> live restore (tiny SimpleIR on
 * webgpu) -> toCanvas, with drops counted and every frame closed; the camera is stopped when the SDK
 * opened it and left running when the app did; fromVideoElement; toMediaStreamTrack (generator and
 * canvas fallback).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createBrowserFixture, runInPage, type BrowserFixture, type TestPage } from './harness';
import type { LiveResult } from './pages/video-camera-entry';
import { ffmpeg, fixtureDir, makeY4m, type FixtureDir } from './video-fixtures';

let fx: BrowserFixture | undefined;
let page: TestPage;
let media: FixtureDir;

before(async () => {
  media = await fixtureDir();
  const y4m = await makeY4m(media.dir, 'camera', 64, 48, 30, 2);
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=15', '-t', '1', '-c:v', 'libvpx-vp9', '-deadline', 'realtime', join(media.dir, 'clip.webm')]);
  fx = await createBrowserFixture({ fakeVideo: y4m, routes: { '/media/': media.dir } });
  page = await fx.open('/blank.html', { entry: 'test/browser/pages/video-camera-entry.ts' });
});

after(async () => {
  await fx?.close();
  await media?.remove();
});

function checkLive(r: LiveResult, frames: number, what: string): void {
  console.log(
    `# ${what}: ${r.drawn.length} drawn, ${r.framesSeen} camera frames in ${r.ms.toFixed(0)} ms; metrics in ${r.metrics?.framesIn} out ${r.metrics?.framesOut} dropped ${r.metrics?.dropped} errors ${r.metrics?.errors}`,
  );
  assert.equal(r.drawn.length, frames);
  for (let i = 1; i < r.drawn.length; i++) assert.ok(r.drawn[i]! > r.drawn[i - 1]!, 'drawn frames go forward in time');
  assert.deepEqual(r.canvas, [64, 48]);
  assert.ok(r.metrics?.done, 'the last metrics report is the final one');
  // Here the camera (30 fps) outpaces the CPU-emulated GPU: the live mode drops frames, and counts them.
  if (r.ms / r.drawn.length > 200) assert.ok(r.metrics.dropped > 0, 'no frame was dropped though restoring ran behind the camera');
  assert.equal(r.metrics.framesIn, r.metrics.framesOut + r.metrics.dropped + r.metrics.errors, 'frames in = out + dropped + errors');
  assert.equal(r.metrics.framesIn, r.framesSeen, 'the operator saw every camera frame');
  assert.equal(r.openFrames, 0, `${r.openFrames} VideoFrame(s) left open`);
}

test('fromCamera -> live restore -> toCanvas: frames drawn, drops counted, all closed, camera stopped', async () => {
  const r = await runInPage(page, () => window.liveRestore(4, 'sdk', 'processor'), undefined);
  checkLive(r, 4, 'fromCamera (processor)');
  assert.equal(r.trackState, 'ended', 'the SDK opened the camera, so unsubscribing stops it');
});

test('fromMediaStream(app stream) with the <video> fallback: all closed, the app track keeps running', async () => {
  const r = await runInPage(page, () => window.liveRestore(4, 'app', 'video-element'), undefined);
  checkLive(r, 4, 'fromMediaStream (video element)');
  assert.equal(r.trackState, 'live', 'a track passed in by the app is left running');
});

test('fromVideoElement: a frame per presented frame, media timestamps, all closed', async () => {
  const r = await runInPage(page, (url) => window.videoElement(url), '/media/clip.webm');
  console.log(`# fromVideoElement: ${r.timestamps.length} frames, sizes ${r.sizes.join(',')}`);
  assert.ok(r.timestamps.length >= 8, `only ${r.timestamps.length} of 15 frames`);
  assert.deepEqual(r.sizes, ['64x48']);
  for (let i = 1; i < r.timestamps.length; i++) assert.ok(r.timestamps[i]! > r.timestamps[i - 1]!, 'timestamps increase');
  assert.ok(r.timestamps.every((t) => t >= 0 && t < 1_000_000));
  assert.equal(r.openFrames, 0);
});

for (const method of ['generator', 'canvas'] as const) {
  test(`toMediaStreamTrack (${method}): frames reach the track, which ends with the stream`, async () => {
    const r = await runInPage(page, (m) => window.trackSink(m), method);
    console.log(`# toMediaStreamTrack ${r.method}: wrote ${r.written.length}, the track gave ${r.received} (${r.receivedSize})`);
    assert.equal(r.method, method);
    assert.deepEqual(r.written, [0, 100_000, 200_000, 300_000, 400_000]);
    assert.ok(r.received >= 1, 'no frame came out of the track');
    assert.equal(r.receivedSize, '48x32');
    assert.equal(r.trackStateAfter, 'ended');
    assert.equal(r.openFrames, 0);
  });
}
