/**
 * Browser smoke test: headless Chromium has a (SwiftShader) WebGPU adapter, tfjs runs on the
 * webgpu backend and agrees with cpu and wasm on a conv2d, and WebCodecs' VideoFrame works,
 * including a copy of a VideoFrame into a WebGPU texture on tfjs's device.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bundleForBrowser, createBrowserFixture, runInPage, type BrowserFixture } from './harness';
import type { SmokeResult } from './pages/smoke-entry';

const ENTRY = 'test/browser/pages/smoke-entry.ts';

let fx: BrowserFixture | undefined;
let result: SmokeResult;

before(async () => {
  const t0 = performance.now();
  const bundle = await bundleForBrowser(ENTRY);
  const t1 = performance.now();
  fx = await createBrowserFixture();
  const t2 = performance.now();
  const page = await fx.open('/blank.html', { script: bundle.url });
  result = await runInPage(page, () => window.runSmoke(), undefined);
  const t3 = performance.now();
  console.log(
    `# smoke timings: bundle ${(t1 - t0).toFixed(0)} ms (${bundle.rebuilt ? 'built' : 'cached'}), ` +
      `browser launch ${(t2 - t1).toFixed(0)} ms, page + smoke ${(t3 - t2).toFixed(0)} ms; ` +
      `conv2d webgpu ${result.convMs.webgpu.toFixed(0)} ms, cpu ${result.convMs.cpu.toFixed(0)} ms, wasm ${result.convMs.wasm.toFixed(0)} ms`,
  );
});

after(async () => {
  await fx?.close();
});

test('a WebGPU adapter exists (SwiftShader here: a fallback adapter)', () => {
  assert.ok(result.adapter, 'navigator.gpu.requestAdapter() returned null: check the Chromium flags in harness.ts');
  assert.equal(typeof result.adapter.isFallbackAdapter, 'boolean', 'adapter.info.isFallbackAdapter should be a boolean');
  if (result.adapter.isFallbackAdapter) {
    console.log(`# WebGPU adapter is a fallback adapter (${result.adapter.vendor} ${result.adapter.architecture} ${result.adapter.description})`);
  }
});

test('tfjs runs on the webgpu backend', () => {
  assert.equal(result.setBackendWebgpu, true);
  assert.equal(result.backendAfterSet, 'webgpu');
});

test('conv2d agrees on webgpu, cpu and wasm within 1e-4', () => {
  assert.deepEqual(result.outShape, [1, 16, 16, 8]);
  const { webgpu, cpu, wasm } = result.conv;
  assert.equal(cpu.length, 16 * 16 * 8);
  assert.equal(webgpu.length, cpu.length);
  assert.equal(wasm.length, cpu.length);
  let maxGpu = 0;
  let maxWasm = 0;
  for (let i = 0; i < cpu.length; i++) {
    const ref = cpu[i] as number;
    assert.ok(Number.isFinite(ref), `cpu[${i}] is not finite`);
    maxGpu = Math.max(maxGpu, Math.abs((webgpu[i] as number) - ref));
    maxWasm = Math.max(maxWasm, Math.abs((wasm[i] as number) - ref));
  }
  assert.ok(maxGpu <= 1e-4, `webgpu differs from cpu by ${maxGpu}`);
  assert.ok(maxWasm <= 1e-4, `wasm differs from cpu by ${maxWasm}`);
  // Not all zeros: a backend that silently returns zeros must not pass.
  assert.ok(cpu.some((v) => Math.abs(v) > 1e-3));
  assert.equal(result.numTensorsLeft, 0, 'the smoke entry leaked tensors');
});

test('the page is cross-origin isolated (wasm threads)', () => {
  assert.equal(result.crossOriginIsolated, true, 'COOP/COEP headers missing from the test server');
  assert.equal(result.wasmMultithread, true);
});

test('WebCodecs: a VideoFrame from a canvas is created, copied to a WebGPU texture and closed', () => {
  const vf = result.videoFrame;
  assert.equal(vf.width, 64);
  assert.equal(vf.height, 16);
  assert.ok(vf.format, 'VideoFrame.format should be set before close()');
  assert.equal(vf.formatAfterClose, null, 'VideoFrame.format should be null after close()');
  assert.deepEqual(vf.webCodecs, { VideoEncoder: true, VideoDecoder: true, MediaStreamTrackProcessor: true });
  assert.equal(vf.gpuError, null, `copyExternalImageToTexture(VideoFrame) failed: ${vf.gpuError}`);
  const [r, g, b, a] = vf.gpuPixel ?? [];
  assert.ok(
    Math.abs((r ?? -99) - 200) <= 2 && Math.abs((g ?? -99) - 100) <= 2 && Math.abs((b ?? -99) - 50) <= 2 && a === 255,
    `pixel (0,0) read back from the GPU: ${JSON.stringify(vf.gpuPixel)}, expected ~[200,100,50,255]`,
  );
});
