/**
 * Temporal restoration on the zero-copy WebGPU path in headless Chromium: VideoFrames in and out, the
 * temporal stage on the GPU's tensors with no CPU readback, streaks removed, every frame closed,
 * tensor counts flat.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createBrowserFixture, runInPage, type BrowserFixture, type TestPage } from './harness';

let fx: BrowserFixture | undefined;
let page: TestPage;

before(async () => {
  fx = await createBrowserFixture();
  page = await fx.open('/blank.html', { entry: 'test/browser/pages/temporal-entry.ts' });
});

after(async () => {
  await fx?.close();
});

const NAMES = { false: 'true', true: '{ guide: true }', explained: "{ guide: true, guideVotes: 'explained' }" } as const;
for (const guide of [false, true, 'explained'] as const) test(`restore(tiny, { temporal: ${NAMES[`${guide}`]} }) on webgpu: no readback, streaks removed, frames closed, tensors flat`, async () => {
  const r = await runInPage(page, ([n, g]) => window.temporalRun(n, g), [8, guide] as [number, boolean | 'explained']);
  console.log(`# webgpu temporal${guide ? ` (guide${guide === 'explained' ? ', explained votes' : ''})` : ''}: PSNR input ${r.psnrInput.toFixed(2)} dB, output ${r.psnrOutput.toFixed(2)} dB; readbacks ${JSON.stringify(r.readbacks)}`);
  assert.equal(r.backend, 'webgpu');
  assert.equal(r.frames, 8);
  assert.deepEqual(r.timestamps, Array.from({ length: 8 }, (_, i) => i * 40_000));
  assert.ok(Object.keys(r.readbacks).length >= 7, 'the readback counters were not installed');
  for (const [name, n] of Object.entries(r.readbacks)) assert.equal(n, 0, `${name} was called ${n} time(s) on the gpu path`);
  assert.equal(r.inputsOpen, 0, 'input VideoFrames left open');
  assert.equal(r.tensorsAfter, r.tensorsBefore, 'tensors leaked');
  assert.ok(r.psnrOutput - r.psnrInput > 5, `temporal output ${r.psnrOutput.toFixed(2)} dB vs input ${r.psnrInput.toFixed(2)} dB`);
});
