/**
 * Reliability in headless Chromium: soak runs of 300 frames (fromMp4 -> restore on the zero-copy
 * WebGPU path, and the tiny model on the wasm CPU path), unsubscribing at random points, a WebGPU
 * device destroyed mid-stream (an error event, a clean stop, then a fallback to wasm), NaN and
 * infinity in outputs and weights, and bad arguments to the browser-only exports.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createBrowserFixture, runInPage, type BrowserFixture, type TestPage } from './harness';
import type { Released, SoakResult } from './pages/reliability-entry';
import { ffmpeg, fixtureDir, type FixtureDir } from './video-fixtures';

const ENTRY = 'test/browser/pages/reliability-entry.ts';

let fx: BrowserFixture | undefined;
let page: TestPage;
let media: FixtureDir;

before(async () => {
  media = await fixtureDir();
  const clip = (seconds: number, name: string): Promise<void> =>
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=32x32:rate=30', '-t', String(seconds), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', join(media.dir, name)]);
  await Promise.all([clip(10, 'c300.mp4'), clip(2, 'c60.mp4'), clip(0.2, 'c6.mp4')]);
  fx = await createBrowserFixture({ routes: { '/media/': media.dir } });
  // The bad-argument test fetches a missing file on purpose.
  page = await fx.open('/blank.html', { entry: ENTRY, ignoreErrors: [/no-such-file\.mp4/] });
});

after(async () => {
  await fx?.close();
  await media?.remove();
});

function assertReleased(r: Released, what: string): void {
  assert.equal(r.openFrames, 0, `${what}: ${r.openFrames} VideoFrame(s) of ${r.framesMade} left open`);
  assert.equal(r.openDecoders, 0, `${what}: ${r.openDecoders} decoder(s) not closed`);
}

function logSoak(what: string, r: SoakResult): void {
  const reads = Object.values(r.readbacks).reduce((a, b) => a + b, 0);
  console.log(
    `# soak ${what}: ${r.frames} frames in ${(r.ms / 1000).toFixed(1)} s (${((1000 * r.frames) / r.ms).toFixed(0)} frames/s) on ${r.backend}; ` +
      `tensors ${r.tensorsBefore} -> ${r.tensorsAfter} (max ${r.tensorsMax}), bytes ${r.bytesBefore} -> ${r.bytesAfter}; ${r.framesMade} frames made, ${r.openFrames} open; ${reads} readbacks`,
  );
}

describe('soak, 300 frames', () => {
  test('zero-copy WebGPU path: every VideoFrame closed, tensor count and bytes flat, no readback', async () => {
    const r = await runInPage(page, (url) => window.soak(url, 'webgpu', true), '/media/c300.mp4', { timeoutMs: 300_000 });
    logSoak('webgpu (gpu path, light predictor)', r);
    assert.equal(r.frames, 300);
    assertReleased(r, 'webgpu soak');
    assert.equal(r.tensorsAfter, r.tensorsBefore);
    assert.equal(r.bytesAfter, r.bytesBefore);
    assert.ok(r.tensorsMax - r.tensorsBefore <= 4, `tensor count rose to ${r.tensorsMax} from ${r.tensorsBefore} during the run`);
    for (const [fn, n] of Object.entries(r.readbacks)) assert.equal(n, 0, `${fn} was called ${n} time(s)`);
  });

  test('tiny model on wasm (CPU path): every VideoFrame closed, tensor count and bytes flat', async () => {
    const r = await runInPage(page, (url) => window.soak(url, 'wasm', false), '/media/c300.mp4', { timeoutMs: 300_000 });
    logSoak('wasm (cpu path, tiny)', r);
    assert.equal(r.frames, 300);
    assertReleased(r, 'wasm soak');
    assert.equal(r.tensorsAfter, r.tensorsBefore);
    assert.equal(r.bytesAfter, r.bytesBefore);
    assert.ok(r.tensorsMax - r.tensorsBefore <= 4);
  });
});

describe('faults', () => {
  test('unsubscribe at random points (16 seeded runs, both modes): every frame and decoder closed, tensors back', async () => {
    const runs = await runInPage(page, (url) => window.unsubscribeAtRandom(url, 81_000, 16), '/media/c60.mp4', { timeoutMs: 300_000 });
    for (const r of runs) {
      assertReleased(r, `run ${r.run} (cut after ${r.cutAfterMs} ms, ${r.framesBeforeCut} frames)`);
      assert.equal(r.tensorsAfter, r.tensorsBefore, `run ${r.run}: tensors ${r.tensorsBefore} -> ${r.tensorsAfter}`);
    }
    console.log(`# random unsubscribes: ${runs.length} runs, cut after ${runs.map((r) => `${r.framesBeforeCut}f`).join(' ')}`);
    assert.ok(runs.some((r) => r.framesBeforeCut > 0) && runs.some((r) => r.framesBeforeCut < 60), 'the cuts should fall both before and during the stream');
  });

  for (const mode of ['lossless', 'live'] as const) {
    test(`WebGPU device destroyed mid-stream (${mode}): DEVICE_LOST, a clean stop, nothing left open; a fallback to wasm runs`, async (t) => {
      // The device stays destroyed for the page: use a page of its own.
      const own = await fx!.open('/blank.html', { entry: ENTRY, ignoreErrors: [/[Dd]evice|destroyed|lost/] });
      t.after(() => own.close());
      // Live mode drops most frames of a file decoded flat out: destroy after the first output there.
      const after = mode === 'live' ? 1 : 5;
      const r = await runInPage(own, (a) => window.destroyDeviceMidStream(a.url, a.after, a.mode), { url: '/media/c60.mp4', mode, after }, { timeoutMs: 120_000 });
      console.log(`# device destroyed after ${after} frame(s) (${mode}): ${r.stream.outcome} ${r.stream.code} after ${r.stream.frames} frames: ${r.stream.message}`);
      console.log(`# fallback: ${r.fallback.outcome}, ${r.fallback.frames} frames ${r.fallback.message}`);
      assert.equal(r.stream.outcome, 'error', `the stream should end with an error, not ${r.stream.outcome}`);
      assert.equal(r.stream.code, 'DEVICE_LOST', r.stream.message);
      assert.match(r.stream.message, /selectBackend/);
      assert.ok(r.stream.frames <= after + 3, `${r.stream.frames - after} frames came out after the loss`);
      assertReleased(r.stream, 'device loss');
      assert.equal(r.fallback.outcome, 'complete', r.fallback.message);
      assert.ok(mode === 'live' ? r.fallback.frames >= 1 : r.fallback.frames === 60, `fallback: ${r.fallback.frames} frames`);
      assertReleased(r.fallback, 'fallback');
    });
  }

  test('NaN and infinity: NON_FINITE ends a lossless stream, is reported and skipped in live mode, on the GPU and CPU paths', async () => {
    const r = await runInPage(page, (url) => window.nonFinite(url), '/media/c6.mp4', { timeoutMs: 300_000 });
    for (const [what, o] of Object.entries(r)) console.log(`# ${what}: ${o.outcome} ${o.code ?? ''} after ${o.frames} frames ${o.frameErrors ? `(frame errors: ${o.frameErrors.join(', ')})` : ''} ${o.message}`);
    const nan = r['webgpu, NaN output, lossless']!;
    assert.equal(nan.code, 'NON_FINITE', nan.message);
    assert.equal(nan.frames, 0);
    const live = r['webgpu, infinity every second frame, live']!;
    assert.equal(live.outcome, 'complete');
    assert.deepEqual(live.frameErrors, ['NON_FINITE', 'NON_FINITE', 'NON_FINITE'], 'frames 1, 3 and 5 of 6 reported');
    assert.equal(live.frames, 3, 'the finite frames still come out');
    for (const backend of ['webgpu', 'wasm']) {
      const o = r[`${backend}, tiny with a NaN weight, lossless`]!;
      assert.equal(o.code, 'NON_FINITE', `${backend}: ${o.message}`);
      assert.match(o.message, /tensors (\d+) -> \1\]/, `${backend}: tensors left behind`);
    }
    for (const [what, o] of Object.entries(r)) assertReleased(o, what);
  });
});

test('bad arguments to the browser exports: typed errors with a helpful message', async () => {
  const results = await runInPage(page, () => window.browserBadArguments(), undefined, { timeoutMs: 120_000 });
  const bad = results.filter((r) => r.result !== 'typed' || r.message.length < 30);
  for (const r of results) console.log(`# ${r.result === 'typed' ? 'ok ' : 'BAD'} ${r.name}: ${r.code ?? r.result} ${r.message.slice(0, 140)}`);
  assert.deepEqual(bad.map((r) => `${r.name}: ${r.result} ${r.message}`), []);
});
