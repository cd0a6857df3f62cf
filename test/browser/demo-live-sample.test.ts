/**
 * The live webcam demo without a camera: when getUserMedia refuses (no permission), the page says so and
 * restores the bundled sample clip (examples/assets/sample-rain.mp4, checked here too), scaled to 160 px
 * wide by the page's size selector so that SwiftShader keeps up. Screenshot in artifacts/.
 */
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { BrowserContext } from 'playwright-core';
import { startExamples, type ExamplesServer } from '../../scripts/start';
import { launchBrowser, openPage, REPO_ROOT, runInPage } from './harness';
import { probeStreams } from './video-fixtures';
import { artifactPath, demoWeights, type DemoWeights } from './pages/demo-fixtures';
import type { DemoCapture } from '../../examples/live/main';

let server: ExamplesServer | undefined;
let context: BrowserContext | undefined;
let weights: DemoWeights | undefined;

before(async () => {
  weights = await demoWeights();
  server = await startExamples({ port: 0, weightsDir: weights.dir });
  context = await launchBrowser();
  // getUserMedia refuses, as when the user says no.
  await context.addInitScript(`navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));`);
});

after(async () => {
  await context?.close();
  await server?.close();
  await weights?.remove();
});

test('the bundled sample clip: about 1 MB of H.264 640x360, 4 s at 24 fps, with audio', async () => {
  const clip = join(REPO_ROOT, 'examples/assets/sample-rain.mp4');
  const bytes = (await stat(clip)).size;
  const streams = await probeStreams(clip);
  const video = streams.find((s) => s.codec_type === 'video');
  const audio = streams.find((s) => s.codec_type === 'audio');
  console.log(`# sample-rain.mp4: ${(bytes / 1e6).toFixed(2)} MB, ${video?.codec_name} ${video?.width}x${video?.height}, ${video?.nb_read_frames} frames, audio ${audio?.codec_name}`);
  assert.ok(bytes > 0.5e6 && bytes < 1.3e6, `${bytes} bytes`);
  assert.equal(video?.codec_name, 'h264');
  assert.deepEqual([video?.width, video?.height], [640, 360]);
  assert.equal(Number(video?.nb_read_frames), 96);
  assert.equal(audio?.codec_name, 'aac');
});

test('live demo: without camera permission it plays the bundled sample clip', async () => {
  const page = await openPage(context!, server!, '/live/?size=160');
  await page.page.setViewportSize({ width: 1280, height: 820 });
  const t0 = Date.now();
  let s = await runInPage(page, () => ({ status: window.simpleirDemo.status(), metrics: window.simpleirDemo.metrics() }), undefined);
  while ((s.metrics?.framesOut ?? 0) < 2 && s.status.error === null && Date.now() - t0 < 150_000) {
    await new Promise((r) => setTimeout(r, 1000));
    s = await runInPage(page, () => ({ status: window.simpleirDemo.status(), metrics: window.simpleirDemo.metrics() }), undefined);
  }
  const banner = await page.page.textContent('#banner');
  console.log(`# no camera: ${JSON.stringify(s.status)}; banner "${banner}"`);
  assert.equal(s.status.source, 'sample');
  assert.match(banner ?? '', /No camera could be opened .*sample clip/);
  assert.ok((s.metrics?.framesOut ?? 0) >= 2, 'the sample clip was not restored');
  const capture = (await runInPage(page, () => window.simpleirDemo.capture(), undefined)) as DemoCapture | null;
  assert.deepEqual([capture?.width, capture?.height], [160, 90], 'the 640x360 clip was scaled to 160 px wide');
  await page.page.screenshot({ path: await artifactPath('demo-live-sample.png') });
  page.assertNoErrors();
  await page.close();
});
