/**
 * Online Review Learning in headless Chromium on the webgpu backend (tiny, 32x32 crops): a live stream
 * is restored while the learner adapts to haze; loss falls, events are emitted, and the learner
 * round-trips through IndexedDB.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bundleForBrowser, createBrowserFixture, runInPage, type BrowserFixture } from './harness';
import type { OnlineResult } from './pages/online-entry';

let fx: BrowserFixture | undefined;
let result: OnlineResult;

before(async () => {
  const bundle = await bundleForBrowser('test/browser/pages/online-entry.ts');
  fx = await createBrowserFixture();
  const page = await fx.open('/blank.html', { script: bundle.url });
  result = await runInPage(page, () => window.runOnline(), undefined, { timeoutMs: 600_000 });
  const l = result.stepLosses;
  console.log(
    `# webgpu: ${result.frames} frames sent, ${result.restored} restored, events ${JSON.stringify(result.eventCounts)}; ` +
      `fresh loss ${l[0]?.toFixed(4)} -> ${l.at(-1)?.toFixed(4)}; held-out L1 ${result.heldOutBefore.toFixed(4)} -> ${result.heldOutAfter.toFixed(4)}`,
  );
});

after(async () => {
  await fx?.close();
});

test('the learner runs on the webgpu backend while frames are restored', () => {
  assert.equal(result.backend, 'webgpu');
  assert.ok(result.restored > 0, 'frames were restored');
  assert.ok((result.eventCounts.step ?? 0) >= 10, `steps: ${result.eventCounts.step}`);
});

test('loss falls on held-out hazed crops (training losses are of ever new crops: logged only)', () => {
  assert.ok(result.stepLosses.every(Number.isFinite));
  // Observed drops after 10 steps on SwiftShader: 5 % to 31 % over six runs on 2026-12-07 (which frames
  // the steps take their crops from depends on timing: frames arrive every 25 ms, a step takes seconds).
  // An untrained or broken learner leaves the held-out loss unchanged or raises it.
  assert.ok(result.heldOutAfter < result.heldOutBefore * 0.97, `held-out L1 ${result.heldOutBefore} -> ${result.heldOutAfter}`);
});

test("default options on webgpu: the first step reviews earlier domains against the shipped weights' outputs", () => {
  const f = result.defaultsFirstStep;
  assert.ok(f && f.reviewed >= 1 && f.synthesized >= 1, JSON.stringify(f));
  assert.ok(f.reviewLoss !== null && f.reviewLoss < 1e-3, `first review loss ${f.reviewLoss}`);
});

test('events are emitted: domain, step, swap and hard-sample', () => {
  for (const type of ['domain', 'step', 'swap', 'hard-sample']) assert.ok((result.eventCounts[type] ?? 0) > 0, `${type} events`);
});

test('save to IndexedDB and load restore weights, memory and domain', () => {
  assert.equal(result.loaded.maxWeightDiff, 0);
  assert.ok(result.loaded.modelMatches, 'the loaded weights were published to the second model');
  assert.equal(result.loaded.memorySize, result.loaded.savedMemorySize);
  assert.equal(result.loaded.domain, 'haze');
});

test('no tensors are left behind', () => {
  assert.equal(result.tensorsLeft, 0);
});
