/**
 * The browser bench's pipeline-overhead measurement (`window.benchPipeline` in bench/browser-page.ts,
 * row from bench/pipeline-overhead.ts) on a small H.264 + AAC fixture, tiny on wasm, one timed pair:
 * every run gives every frame back, the timings are there, and the row is finite.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pipelineRow, type PipelineTiming } from '../../bench/pipeline-overhead';
import { createBrowserFixture, runInPage, type BrowserFixture } from './harness';
import { fixtureDir, makeMp4, probeStreams, type FixtureDir } from './video-fixtures';

let fx: BrowserFixture | undefined;
let media: FixtureDir | undefined;
let timing: PipelineTiming;
let inputFrames: number;

before(async () => {
  media = await fixtureDir();
  const clip = await makeMp4(media.dir, 'h264-aac');
  inputFrames = Number((await probeStreams(clip)).find((s) => s.codec_type === 'video')!.nb_read_frames);
  fx = await createBrowserFixture({ routes: { '/media/': media.dir } });
  const page = await fx.open('/blank.html', { entry: 'bench/browser-page.ts' });
  const backend = await runInPage(page, (b) => window.benchBackend(b), 'wasm' as const);
  // tfjs's own thread count: half of the page's hardwareConcurrency, at least 1, at most 8.
  assert.deepEqual(backend, { name: 'wasm', fallbackAdapter: false, wasmThreads: Math.min(8, Math.max(1, Math.floor((await page.page.evaluate(() => navigator.hardwareConcurrency)) / 2))) });
  timing = await runInPage(page, () => window.benchPipeline('/media/h264-aac.mp4', 'tiny', 1), undefined);
});

after(async () => {
  await fx?.close();
  await media?.remove();
});

test('benchPipeline: frames in = frames out in every run (pipeline output file, restore-only, restore metrics)', () => {
  assert.equal(timing.frames, inputFrames);
  assert.deepEqual(timing.framesOut, [inputFrames]);
  assert.deepEqual(timing.restoredFrames, [inputFrames]);
  assert.deepEqual(timing.pipelineMetrics, [{ framesIn: inputFrames, framesOut: inputFrames, dropped: 0, errors: 0 }]);
  assert.ok(timing.outputBytes > 0);
});

test('benchPipeline: one timing per run for each part, and a finite row', () => {
  assert.equal(timing.backend, 'wasm');
  assert.equal(timing.size, '64x48');
  assert.match(timing.codec, /^avc1\./);
  for (const key of ['pipelineMs', 'restoreMs', 'decodeMs', 'encodeMs', 'firstFrameMs', 'tailMs'] as const) {
    assert.equal(timing[key].length, 1, key);
    assert.ok(timing[key].every((ms) => Number.isFinite(ms) && ms > 0), `${key}: ${timing[key]}`);
  }
  const row = pipelineRow(timing);
  console.log(`# ${row.size}, ${row.frames} frames: pipeline ${row.pipelineFps.toFixed(1)} fps, restore-only ${row.restoreFps.toFixed(1)} fps, overhead ${(100 * row.overhead).toFixed(0)} %`);
  assert.equal(row.framesMatch, true);
  for (const v of [row.pipelineFps, row.restoreFps, row.overhead, row.pairedOverhead, row.startMs, row.tailMs, ...Object.values(row.msPerFrame)]) assert.ok(Number.isFinite(v), String(v));
});
