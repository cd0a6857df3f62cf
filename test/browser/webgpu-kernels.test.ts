/**
 * The custom WebGPU kernels of the forward pass (src/core/model/webgpu-kernels.ts) against the same
 * computation in tfjs operations, on webgpu (SwiftShader) in headless Chromium.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createBrowserFixture, runInPage, type BrowserFixture, type TestPage } from './harness';
import type { NormaliseResult } from './pages/webgpu-kernels-entry';

let fx: BrowserFixture | undefined;
let page: TestPage;

before(async () => {
  fx = await createBrowserFixture();
  page = await fx.open('/blank.html', { entry: 'test/browser/pages/webgpu-kernels-entry.ts' });
});

after(async () => {
  await fx?.close();
});

for (const shape of [[1, 33, 47, 16], [2, 9, 13, 24]] as [number, number, number, number][]) {
  test(`channel normalisation of [${shape}]: one dispatch instead of eight, equal to the tfjs operations within 1e-5`, async () => {
    const r: NormaliseResult = await runInPage(page, (s) => window.compareNormalise(s), shape);
    console.log(`# ${JSON.stringify(r)}`);
    assert.equal(r.backend, 'webgpu');
    assert.equal(r.kernelDispatches, 1);
    assert.ok(r.opsDispatches >= 6, `tfjs operations: ${r.opsDispatches} dispatches`);
    assert.ok(r.maxAbs > 1, 'normalised values spread beyond 1');
    assert.ok(r.maxDiff <= 1e-5, `kernel and operations differ by ${r.maxDiff}`);
    // Under a gradient tape the operations run instead, and the gradient flows.
    assert.ok(r.gradAbsSum > 0);
    assert.equal(r.tensorsLeft, 0);
  });
}
