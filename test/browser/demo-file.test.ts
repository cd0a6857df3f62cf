/**
 * The file demo (examples/file) end to end in headless Chromium: an MP4 made here (a clean scene under
 * falling synthetic rain, H.264 + AAC) is chosen in the page's file input; the page restores every frame
 * (fromMp4 → restore lossless → toMp4({ source })) on WebGPU and downloads the result; ffmpeg decodes the
 * download: same frame count, H.264 video of the same size, the audio track kept. Then the "Temporal (video)
 * restoration" toggle is switched on and the same file restored again: every frame, the status says
 * temporal, and the download differs from the per-frame one. Screenshots in artifacts/.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { BrowserContext } from 'playwright-core';
import { startExamples, type ExamplesServer } from '../../scripts/start';
import { launchBrowser, openPage, runInPage } from './harness';
import { artifactPath, cleanScene, demoWeights, keepArtifact, writeRainClip, type DemoWeights } from './pages/demo-fixtures';
import { decodesCleanly, ffmpeg, fixtureDir, probeStreams, psnr, type FixtureDir } from './video-fixtures';

const WIDTH = 128;
const HEIGHT = 72;
const FRAMES = 12;

let server: ExamplesServer | undefined;
let context: BrowserContext | undefined;
let weights: DemoWeights | undefined;
let media: FixtureDir;
let input: string;

before(async () => {
  media = await fixtureDir();
  weights = await demoWeights();
  const scene = await cleanScene(WIDTH, HEIGHT);
  const y4m = join(media.dir, 'rain.y4m');
  await writeRainClip(y4m, scene, { frames: FRAMES, fps: 12, seed: 4, strength: 0.5, still: false });
  input = join(media.dir, 'rainy-clip.mp4');
  await ffmpeg([
    '-i', y4m, '-f', 'lavfi', '-i', 'sine=frequency=330:duration=1', '-t', '1',
    '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-crf', '18', '-c:a', 'aac', '-movflags', '+faststart', input,
  ]);
  console.log(`# input: ${scene.source} ${WIDTH}x${HEIGHT}, ${FRAMES} frames with falling rain, AAC audio; weights: ${weights.source}`);
  server = await startExamples({ port: 0, weightsDir: weights.dir });
  context = await launchBrowser();
});

after(async () => {
  await context?.close();
  await server?.close();
  await weights?.remove();
  await media?.remove();
});

test('file demo: choose an MP4 -> progress -> the restored MP4 downloads with every frame and the audio', async () => {
  const page = await openPage(context!, server!, '/file/');
  await page.page.setViewportSize({ width: 1280, height: 820 });
  const ready = await runInPage(page, async () => {
    while (window.simpleirFileDemo.state().phase === 'loading') await new Promise((r) => setTimeout(r, 100));
    return window.simpleirFileDemo.state();
  }, undefined);
  assert.equal(ready.phase, 'idle', ready.error ?? '');
  assert.equal(ready.trained, true, 'the page did not load the tiny weights from /weights/');

  const t0 = Date.now();
  const download = page.page.waitForEvent('download', { timeout: 170_000 });
  await page.page.setInputFiles('#file', input);
  const file = await download;
  const out = join(media.dir, file.suggestedFilename());
  await file.saveAs(out);
  const state = await runInPage(page, () => window.simpleirFileDemo.state(), undefined);
  const metrics = await runInPage(page, () => window.simpleirFileDemo.metrics(), undefined);
  console.log(`# ${state.fileName}: ${state.framesDone}/${state.frameCount} frames, ${state.bytesOut} bytes (written to ${state.output}) in ${((Date.now() - t0) / 1000).toFixed(1)} s on ${state.backend}; metrics in ${metrics?.framesIn} out ${metrics?.framesOut} dropped ${metrics?.dropped}`);
  assert.equal(file.suggestedFilename(), 'rainy-clip-restored.mp4');
  assert.equal(state.phase, 'done');
  // This Chromium has the origin private file system: the MP4 is written there as it is made.
  assert.equal(state.output, 'opfs');
  assert.equal(state.frameCount, FRAMES);
  assert.equal(metrics?.framesOut, FRAMES);
  assert.equal(metrics?.dropped, 0, 'lossless mode dropped frames');

  const streams = await probeStreams(out);
  const video = streams.find((s) => s.codec_type === 'video');
  const audio = streams.find((s) => s.codec_type === 'audio');
  assert.ok(video, 'the download has no video stream');
  assert.equal(video.codec_name, 'h264');
  assert.deepEqual([video.width, video.height], [WIDTH, HEIGHT]);
  assert.equal(Number(video.nb_read_frames), FRAMES, 'frame count differs from the input');
  assert.ok(audio, 'the download has no audio stream');
  assert.equal(audio.codec_name, 'aac');
  const inputAudio = (await probeStreams(input)).find((s) => s.codec_type === 'audio')!;
  assert.equal(audio.nb_read_packets, inputAudio.nb_read_packets, 'audio packets were lost');
  await decodesCleanly(out);
  await keepArtifact(out, 'demo-file-restored.mp4');
  await keepArtifact(input, 'demo-file-input.mp4');
  const db = await psnr(out, input);
  // Restoration changes the picture (how much depends on the weights), so this is logged, not asserted.
  console.log(`# PSNR of the download against the input: ${db.average.toFixed(1)} dB`);

  const shown = await runInPage(page, () => ({ bar: (document.getElementById('bar') as HTMLElement).style.width, text: document.getElementById('progress-text')!.textContent }), undefined);
  assert.equal(shown.bar, '100%');
  assert.match(shown.text ?? '', /^Done: 12 frames/);
  await page.page.waitForFunction(() => (document.getElementById('preview') as HTMLVideoElement).readyState >= 2, undefined, { timeout: 20_000 }).catch(() => undefined);
  await page.page.screenshot({ path: await artifactPath('demo-file.png') });
  assert.equal(state.temporal, false, 'the first run is per frame (toggle off)');

  // The temporal toggle applies to the next run: the same file again, restored temporally.
  await page.page.check('#temporal');
  const again = page.page.waitForEvent('download', { timeout: 170_000 });
  await page.page.setInputFiles('#file', input);
  const temporalFile = await again;
  const temporalOut = join(media.dir, `temporal-${temporalFile.suggestedFilename()}`);
  await temporalFile.saveAs(temporalOut);
  const temporalState = await runInPage(page, () => window.simpleirFileDemo.state(), undefined);
  const temporalMetrics = await runInPage(page, () => window.simpleirFileDemo.metrics(), undefined);
  assert.equal(temporalState.phase, 'done', temporalState.error ?? '');
  assert.equal(temporalState.temporal, true, 'the status does not report the temporal run');
  assert.equal(temporalMetrics?.framesOut, FRAMES);
  assert.equal(temporalMetrics?.dropped, 0);
  const temporalVideo = (await probeStreams(temporalOut)).find((s) => s.codec_type === 'video');
  assert.equal(Number(temporalVideo?.nb_read_frames), FRAMES, 'the temporal run lost frames');
  await decodesCleanly(temporalOut);
  // Falling rain: past frames see behind this frame's streaks, so the temporal output differs.
  const between = await psnr(temporalOut, out);
  console.log(`# temporal download against the per-frame one: ${between.average.toFixed(1)} dB; against the input: ${(await psnr(temporalOut, input)).average.toFixed(1)} dB`);
  assert.ok(between.average < 60, `the temporal download is the per-frame one (${between.average} dB apart)`);
  await keepArtifact(temporalOut, 'demo-file-restored-temporal.mp4');
  page.assertNoErrors();
  await page.close();
});

test('without weights at /weights/ the page says so and runs an untrained network', async () => {
  const empty = await fixtureDir();
  const bare = await startExamples({ port: 0, weightsDir: empty.dir, skipBuild: true });
  try {
    // The browser logs the 404 of tiny.json as a console error: expected here.
    const page = await openPage(context!, bare, '/file/?backend=wasm', { ignoreErrors: [/status of 404/] });
    const state = await runInPage(page, async () => {
      while (window.simpleirFileDemo.state().phase === 'loading') await new Promise((r) => setTimeout(r, 100));
      return window.simpleirFileDemo.state();
    }, undefined);
    const banner = await page.page.textContent('#weights-banner');
    console.log(`# no weights: ${banner}`);
    assert.equal(state.phase, 'idle');
    assert.equal(state.trained, false);
    assert.match(banner ?? '', /The 'tiny' weights could not be loaded from \/weights\/tiny\.json .*untrained network .*npm run simpleir -- train --preset tiny/);
    assert.equal(await page.page.isVisible('#weights-banner'), true);
    await page.page.setViewportSize({ width: 1280, height: 600 });
    await page.page.screenshot({ path: await artifactPath('demo-file-no-weights.png') });
    page.assertNoErrors();
    await page.close();
  } finally {
    await bare.close();
    await empty.remove();
  }
});
