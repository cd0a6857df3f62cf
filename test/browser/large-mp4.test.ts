/**
 * A 4K UHD MP4 end to end in headless Chromium (issue 14): an H.264 test pattern made by ffmpeg goes
 * through fromMp4 -> restore (shipped tiny weights on wasm) tiled (the default at 4K) and untiled
 * (`tileSize: 0`); the page reads both runs' RGB back and compares them over every row (tiles cut with
 * float indices corrupted every row from 1456 down), and the tiled run's toMp4 output is checked by ffprobe.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createBrowserFixture, runInPage, type BrowserFixture, type TestPage } from './harness';
import type { Large4kResult } from './pages/large-mp4-entry';
import { fixtureDir, FLAT_BOX, makeMp4, probeStreams, writeBase64, type FixtureDir } from './video-fixtures';

const WIDTH = 3840;
const HEIGHT = 2160;
/** The row of a 4K RGB frame in which the values pass 2^24 (3840 * 3 * 1457 > 2^24). */
const FIRST_ROW_PAST_2_24 = Math.floor(2 ** 24 / (WIDTH * 3));
/** The flat box, 16 pixels in from its edges (the network and 4:2:0 chroma blur the edges). */
const BOX = { x: FLAT_BOX.x + 16, y: FLAT_BOX.y + 16, width: FLAT_BOX.width - 32, height: FLAT_BOX.height - 32 };

let fx: BrowserFixture | undefined;
let page: TestPage;
let media: FixtureDir;
let result: Large4kResult;
let seconds: number;

before(async () => {
  media = await fixtureDir();
  await makeMp4(media.dir, 'h264-4k');
  fx = await createBrowserFixture({ routes: { '/media/': media.dir } });
  page = await fx.open('/blank.html', { entry: 'test/browser/pages/large-mp4-entry.ts' });
  const t0 = performance.now();
  result = await runInPage(page, (a) => window.restore4k(a.url, a.box, a.fromRow), { url: '/media/h264-4k.mp4', box: BOX, fromRow: FIRST_ROW_PAST_2_24 }, { timeoutMs: 900_000 });
  seconds = (performance.now() - t0) / 1000;
  console.log(`# 4K 2 frames in the page on ${result.backend}: ${seconds.toFixed(1)} s in all; tiled -> toMp4 ${(result.msTiled / 1000).toFixed(1)} s, untiled ${(result.msUntiled / 1000).toFixed(1)} s`);
});

after(async () => {
  await fx?.close();
  await media?.remove();
});

test('the page restored 2 frames of 3840x2160 on wasm, tensors flat, every frame closed and codec released', () => {
  assert.equal(result.backend, 'wasm');
  assert.equal(result.frames.length, 2);
  for (const f of result.frames) assert.deepEqual([f.width, f.height], [WIDTH, HEIGHT]);
  assert.equal(result.tensorsAfter, result.tensorsBefore, 'tensors left after the runs');
  const { leaks } = result;
  // 3 decodes of 2 frames, 2 restores of 2 frames: at least 10 frames made.
  console.log(`# ${leaks.framesMade} VideoFrames made, ${leaks.openFrames} left open; decoders ${leaks.decoders}, encoders ${leaks.encoders}`);
  assert.ok(leaks.framesMade >= 10, `${leaks.framesMade} frames made: the tracking missed some`);
  assert.equal(leaks.openFrames, 0, `${leaks.openFrames} VideoFrame(s) of ${leaks.framesMade} left open`);
  assert.ok(leaks.decoders.length >= 3 && leaks.encoders.length >= 1, `decoders ${leaks.decoders}, encoders ${leaks.encoders}`);
  for (const s of [...leaks.decoders, ...leaks.encoders]) assert.equal(s, 'closed', 'a decoder or encoder was left open');
});

test('tiled and untiled RGB equal within 1/255 over every row, including those from 1456 down', () => {
  result.frames.forEach((f, i) => {
    console.log(`# frame ${i}: tiled vs untiled max ${f.maxDiff} (rows from ${FIRST_ROW_PAST_2_24}: ${f.maxDiffBelow}), ${f.differing} values differ`);
    assert.ok(f.maxDiff <= 1, `frame ${i}: tiled and untiled differ by ${f.maxDiff} levels`);
    assert.ok(f.maxDiffBelow <= f.maxDiff);
  });
});

test('the flat box below row 1456 keeps the input colour (within 4 levels; the shipped tiny weights move red by ~3) in both runs', () => {
  result.frames.forEach((f, i) => {
    console.log(`# frame ${i} box RGB: input ${f.boxInput.map((v) => v.toFixed(1))}, tiled ${f.boxTiled.map((v) => v.toFixed(1))}, untiled ${f.boxUntiled.map((v) => v.toFixed(1))}`);
    for (let k = 0; k < 3; k++) {
      assert.ok(Math.abs(f.boxTiled[k]! - f.boxInput[k]!) <= 4, `frame ${i} channel ${k}: tiled ${f.boxTiled[k]}, input ${f.boxInput[k]}`);
      assert.ok(Math.abs(f.boxUntiled[k]! - f.boxInput[k]!) <= 4, `frame ${i} channel ${k}: untiled ${f.boxUntiled[k]}, input ${f.boxInput[k]}`);
      // The box is the colour ffmpeg drew (4:2:0 and H.264 round trips allowed).
      assert.ok(Math.abs(f.boxInput[k]! - FLAT_BOX.rgb[k]!) <= 4, `frame ${i} channel ${k}: input box ${f.boxInput[k]}, drawn ${FLAT_BOX.rgb[k]}`);
    }
  });
});

test('toMp4 wrote the tiled frames: ffprobe reads 2 H.264 frames of 3840x2160', async () => {
  const out = await writeBase64(media.dir, 'h264-4k.out.mp4', result.mp4);
  const video = (await probeStreams(out)).find((s) => s.codec_type === 'video');
  assert.ok(video, 'the output has a video stream');
  assert.equal(video.codec_name, 'h264');
  assert.equal(video.width, WIDTH);
  assert.equal(video.height, HEIGHT);
  assert.equal(video.nb_read_frames, '2');
});
