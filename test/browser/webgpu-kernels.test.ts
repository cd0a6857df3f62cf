/**
 * The custom WebGPU kernels of the forward pass (src/core/model/webgpu-kernels.ts) against the same
 * computation in tfjs operations, on webgpu (SwiftShader) in headless Chromium.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createBrowserFixture, runInPage, type BrowserFixture, type TestPage } from './harness';
import type { KernelName, KernelResult, ModelCompareResult } from './pages/webgpu-kernels-entry';

let fx: BrowserFixture | undefined;
let page: TestPage;

before(async () => {
  fx = await createBrowserFixture();
  page = await fx.open('/blank.html', { entry: 'test/browser/pages/webgpu-kernels-entry.ts' });
});

after(async () => {
  await fx?.close();
});

const SHAPES: [number, number, number, number][] = [[1, 33, 47, 16], [2, 9, 13, 24]];
const CASES: { kernel: KernelName; what: string; opsAtLeast: number }[] = [
  { kernel: 'normalise', what: 'channel normalisation', opsAtLeast: 6 },
  { kernel: 'meanMax', what: 'channel mean and max', opsAtLeast: 4 },
];

for (const { kernel, what, opsAtLeast } of CASES) {
  for (const shape of SHAPES) {
    test(`${what} of [${shape}]: one dispatch instead of ${opsAtLeast} or more, equal to the tfjs operations within 1e-5`, async () => {
      const r: KernelResult = await runInPage(page, (a) => window.compareKernel(a), { kernel, shape });
      console.log(`# ${kernel}: ${JSON.stringify(r)}`);
      assert.equal(r.backend, 'webgpu');
      assert.equal(r.kernelDispatches, 1);
      assert.ok(r.opsDispatches >= opsAtLeast, `tfjs operations: ${r.opsDispatches} dispatches`);
      assert.ok(r.maxAbs > 1, 'output values spread beyond 1');
      assert.ok(r.maxDiff <= 1e-5, `kernel and operations differ by ${r.maxDiff}`);
      // Under a gradient tape the operations run instead, and the gradient flows.
      assert.ok(r.gradAbsSum > 0);
      assert.equal(r.tensorsLeft, 0);
    });
  }
}

test('tiny on webgpu: folded weights and kernels give the output of the raw weights in tfjs operations within 1/255', async () => {
  const r: ModelCompareResult = await runInPage(page, () => window.compareModel(), undefined);
  console.log(`# model: ${JSON.stringify(r)}`);
  assert.equal(r.backend, 'webgpu');
  assert.ok(r.change > 0.05, 'random weights change the frame');
  assert.ok(r.maxDiff <= 1 / 255, `outputs differ by ${r.maxDiff}`);
  assert.equal(r.tensorsLeft, 0);
});
