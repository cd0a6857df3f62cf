/**
 * Backpressure in the browser: an H.264 MP4 made by ffmpeg goes through fromMp4 -> map -> filter ->
 * tap -> restore (a slow identity predictor on webgpu); the source stays within the operator's
 * `maxInFlight` of the output, and every kept frame comes out in order with its own pixels.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createBrowserFixture, runInPage, type BrowserFixture, type TestPage } from './harness';
import { ffmpeg, fixtureDir, type FixtureDir } from './video-fixtures';
import type { OperatorsResult } from './pages/backpressure-entry';

const FRAMES = 40;
let fx: BrowserFixture | undefined;
let page: TestPage;
let media: FixtureDir;

before(async () => {
  media = await fixtureDir();
  // Smooth waves that move with the frame number N: every frame differs from every other one.
  const waves = "geq=r='128+100*sin((X+4*N)/8)':g='128+100*sin((Y+3*N)/6)':b='128+100*cos((X+Y+5*N)/10)'";
  const clip = join(media.dir, 'clip.mp4');
  await ffmpeg(['-f', 'lavfi', '-i', 'color=size=64x48:rate=25', '-vf', `${waves},format=yuv420p`, '-frames:v', String(FRAMES), '-c:v', 'libx264', clip]);
  fx = await createBrowserFixture({ routes: { '/media/': media.dir } });
  page = await fx.open('/blank.html', { entry: 'test/browser/pages/backpressure-entry.ts' });
});

after(async () => {
  await fx?.close();
  await media?.remove();
});

test('fromMp4 -> map -> filter -> tap -> restore (slow): the source stays within maxInFlight of the output; kept frames in order, with their pixels', async () => {
  const r: OperatorsResult = await runInPage(page, (url) => window.throughOperators(url, 30), '/media/clip.mp4');
  console.log(`# pixels: worst ${Math.max(...r.diffs.map((d) => d.same)).toFixed(2)} levels from the same frame, at least ${Math.min(...r.diffs.map((d) => d.other)).toFixed(2)} from any other`);
  console.log(`# ${r.emitted} frames emitted; at most ${r.maxAhead} emitted and ${r.maxDecodedAhead} decoded but not yet restored (maxInFlight 2)`);
  assert.equal(r.emitted, FRAMES);
  assert.equal(r.kept.length, FRAMES - Math.floor((FRAMES + 1) / 3));
  assert.deepEqual(r.timestamps, r.kept, 'every kept frame, in order');
  // restore's 2 in flight, and the frame the source emits unasked at subscription.
  assert.ok(r.maxAhead <= 3, `${r.maxAhead} frames emitted and not yet restored`);
  r.diffs.forEach((d, i) => {
    assert.ok(d.same <= 2, `output ${i} is ${d.same.toFixed(2)} levels from its input (identity network)`);
    assert.ok(d.other > 4 * Math.max(d.same, 0.5), `output ${i} is closer to another frame (${d.other.toFixed(2)}) than expected`);
  });
  assert.equal(r.leaks.openFrames, 0, `${r.leaks.openFrames} VideoFrame(s) left open`);
  for (const s of r.leaks.decoders) assert.equal(s, 'closed');
});
