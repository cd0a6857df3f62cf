/**
 * Tiles from the WebGPU device's limits, on webgpu (SwiftShader) in headless Chromium: `'auto'` reads
 * the device's limits (1448-pixel tiles, 4K in tiles, 1080p untiled); a frame restored in the tiles a
 * device with small limits gets equals the untiled frame within 1/255, at the seams too; an untiled 4K
 * pass, past the limits, is refused with INVALID_ARGUMENT before any work. (A 4K frame itself is not
 * restored here: on SwiftShader it would take many minutes.) tfjs fails exactly where the limit is put:
 * convolutions (1x1 as a matrix product; 3x3 3->4 and 4->3, its vec4 and scalar programs) over 32 x 65535 pixels.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createBrowserFixture, runInPage, type BrowserFixture, type TestPage } from './harness';
import type { LimitsResult, SeamResult } from './pages/tiling-webgpu-entry';

let fx: BrowserFixture | undefined;
let page: TestPage;

before(async () => {
  fx = await createBrowserFixture();
  // selectBackend warns (console.warn) about the software adapter: not an error.
  page = await fx.open('/blank.html', { entry: 'test/browser/pages/tiling-webgpu-entry.ts' });
});

after(async () => {
  await fx?.close();
});

test("'auto' on webgpu takes the tile size from the device's limits", async () => {
  const r: LimitsResult = await runInPage(page, () => window.tilingLimits(), undefined);
  console.log(`# ${JSON.stringify(r)}`);
  assert.equal(r.backend, 'webgpu');
  assert.ok(r.limits, 'no device limits read');
  assert.equal(r.limits.maxComputeWorkgroupsPerDimension, 65535);
  assert.equal(r.tileSize, 1448);
  assert.equal(r.tile4k, 1448);
  assert.equal(r.tile1080p, 0);
});

test('tiles a small device would get (48 px on a 120x72 frame, 8 tiles): equal to the untiled frame within 1/255, seams included', async () => {
  // 72 workgroups a dimension: passes of at most 32 x 72 = 2304 pixels, tiles of 48.
  const limits = { maxComputeWorkgroupsPerDimension: 72, maxStorageBufferBindingSize: 2 ** 30, maxBufferSize: 2 ** 30 };
  const r: SeamResult = await runInPage(page, (a) => window.tilingSeams(a), { width: 120, height: 72, limits }, { timeoutMs: 400_000 });
  console.log(`# ${JSON.stringify(r)}`);
  assert.equal(r.backend, 'webgpu');
  assert.equal(r.tileSize, 48);
  assert.equal(r.tiles, 8);
  assert.ok(r.seamPixels > 0.3 * 120 * 72, `seams cover ${r.seamPixels} pixels`);
  assert.ok(r.change > 0.05, 'the random weights changed nothing');
  assert.ok(r.maxDiffSeams <= 1 / 255, `tiled and untiled differ by ${r.maxDiffSeams} at the seams`);
  assert.ok(r.maxDiff <= 1 / 255, `tiled and untiled differ by ${r.maxDiff}`);
  assert.equal(r.tensorsLeft, 0);
});

test('an untiled 4K pass on webgpu is refused before any work, naming the tile size that fits', async () => {
  const r = await runInPage(page, () => window.untiled4k(), undefined);
  assert.ok(r, 'predict did not throw');
  assert.equal(r.code, 'INVALID_ARGUMENT');
  assert.match(r.message, /tileSize: 0 \(no tiling\) at 3840x2160 is one pass of 8294400 pixels.*tiles of 1448 here/);
});

test("the dispatch limit is where webgpuMaxPixels puts it: tfjs's convolutions run over 32 x 65535 pixels and fail 32 pixels past it", async () => {
  for (const [k, cin, cout] of [[1, 4, 4], [3, 3, 4], [3, 4, 3]] as const) {
    const at = await runInPage(page, (a) => window.convOver(a), { pixels: 32 * 65535, k, cin, cout }, { timeoutMs: 400_000 });
    assert.equal(at, null, `${k}x${k} ${cin}->${cout} at the limit: ${at}`);
    const past = await runInPage(page, (a) => window.convOver(a), { pixels: 32 * 65535 + 32, k, cin, cout }, { timeoutMs: 400_000 });
    assert.match(past ?? 'no error', /Dispatch size exceeds WebGPU limits in Y or Z dimension/, `${k}x${k} ${cin}->${cout} past the limit`);
  }
});
