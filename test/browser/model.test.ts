/**
 * SimpleIR in headless Chromium: the webgpu backend gives the cpu backend's output (64x64, random
 * weights), and so does wasm, with `lowLight: 'off'` too; on webgpu, tiles cut from frames above 2^24 values (4K, DCI 4K, 8K) and
 * assembled back hold the right values.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bundleForBrowser, createBrowserFixture, runInPage, type BrowserFixture } from './harness';
import type { LargeFrameResult, ModelResult } from './pages/model-entry';

let fx: BrowserFixture | undefined;
let result: ModelResult;
let page: Awaited<ReturnType<BrowserFixture['open']>>;

before(async () => {
  const bundle = await bundleForBrowser('test/browser/pages/model-entry.ts');
  fx = await createBrowserFixture();
  page = await fx.open('/blank.html', { script: bundle.url });
  result = await runInPage(page, () => window.runModel(), undefined);
});

after(async () => {
  await fx?.close();
});

function maxDiff(a: number[], b: number[]): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test('automatic selection passes over the software WebGPU adapter (wasm here); asked for by name, webgpu is used', () => {
  // The measured choice itself is tested in backend.test.ts.
  assert.equal(result.autoBackend, 'wasm');
  assert.equal(result.backends.webgpu?.name, 'webgpu');
  assert.equal(result.backends.webgpu?.fallbackAdapter, true);
});

test('webgpu output equals cpu output on a 64x64 input within 1e-4', () => {
  const cpu = result.outputs.cpu!;
  const gpu = result.outputs.webgpu!;
  assert.equal(cpu.length, 64 * 64 * 3);
  const d = maxDiff(gpu, cpu);
  console.log(`# max |webgpu - cpu| = ${d.toExponential(2)}`);
  assert.ok(d <= 1e-4, `webgpu differs from cpu by ${d}`);
  // Random weights really change the image: the comparison is not between two identities.
  assert.ok(cpu.some((v) => v > 0 && v < 1), 'output should not be saturated');
});

test('wasm output equals cpu output within 1e-4', () => {
  assert.ok(maxDiff(result.outputs.wasm!, result.outputs.cpu!) <= 1e-4);
});

test("lowLight: 'off' on webgpu and wasm equals cpu within 1e-4 (400x224: pooled luminance, blur, resize), and changes the output", () => {
  const cpu = result.lowLightOff.cpu!;
  for (const name of ['webgpu', 'wasm'] as const) {
    const d = maxDiff(result.lowLightOff[name]!.off, cpu.off);
    console.log(`# lowLight off: max |${name} - cpu| = ${d.toExponential(2)}`);
    assert.ok(d <= 1e-4, `${name} differs from cpu by ${d}`);
  }
  assert.equal(cpu.off.length, 400 * 224 * 3);
  assert.ok(Math.abs(cpu.offSum - cpu.autoSum) > 1, `off ${cpu.offSum} vs auto ${cpu.autoSum}`);
});

test('restore on webgpu leaves no tensors behind', () => {
  assert.equal(result.tensorsAfter, result.tensorsBefore);
});

for (const size of [[3840, 2160], [4096, 2160], [7680, 4320]] as [number, number][]) {
  test(`webgpu: tiles of a ${size[0]}x${size[1]} frame are cut exactly and assemble back to the frame`, async () => {
    const r: LargeFrameResult = await runInPage(page, (s) => window.runLargeFrame(s), size, { timeoutMs: 600_000 });
    console.log(`# ${size.join('x')} on ${r.backend}: ${r.tiles} tiles, crop error ${r.cropError}, blend error ${r.blendError.toExponential(2)}`);
    assert.equal(r.backend, 'webgpu');
    assert.ok(r.tiles >= 10);
    assert.equal(r.cropError, 0, 'tiles hold exactly the frame values');
    assert.ok(r.blendError <= 1e-5, `assembled frame differs by ${r.blendError}`);
    assert.equal(r.tensorsLeft, 0);
  });
}
