/**
 * The browser peer (bench/peer-page.ts): onnxruntime-web on weights/<preset>.onnx, with its wasm and
 * its WebGPU execution providers (WebGPU on SwiftShader here), against the SDK on the matching tfjs
 * backend (wasm, webgpu), on the same photograph frame in the same cross-origin-isolated page: the
 * outputs agree within 1e-3. Small frames: SwiftShader runs WebGPU on the CPU.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createBrowserFixture, REPO_ROOT, runInPage, type BrowserFixture, type TestPage } from './harness';
import type { PeerResult } from '../../bench/peer-page';
import type { BackendName } from '../../src/core/backend';
import type { PresetName } from '../../src/core/config';

const PHOTO = '/cache/photos/val/mate-LadyBird.jpg';
const skip = existsSync(join(REPO_ROOT, '.cache/photos/val/mate-LadyBird.jpg')) ? false : 'needs the validation photographs: run npm run fetch-photos';
let fx: BrowserFixture;
let page: TestPage;

before(async () => {
  if (skip) return;
  fx = await createBrowserFixture({ routes: { '/ort/': join(REPO_ROOT, 'node_modules/onnxruntime-web/dist') } });
  page = await fx.open('/blank.html', { entry: 'bench/peer-page.ts', ignoreErrors: [/powerPreference/] });
});
after(async () => {
  await fx?.close();
});

async function compare(backend: BackendName, a: { preset: PresetName; w: number; h: number; ep: 'wasm' | 'webgpu' }): Promise<PeerResult> {
  const info = await runInPage(page, (b) => window.peerBackend(b), backend);
  assert.ok(!('error' in info) && info.name === backend, `tfjs backend ${backend}: ${JSON.stringify(info)}`);
  const r = await runInPage(page, (arg) => window.peerCompare(arg), { ...a, reps: 1, ortThreads: 1, photo: PHOTO }, { timeoutMs: 300_000 });
  console.log(`# ${a.preset} ${r.size} tfjs ${r.backend} vs ORT web ${r.ep}: max |diff| ${r.maxAbsDiff.toExponential(2)}, network moved the input by ${r.moved.toFixed(4)}; ms SDK ${r.sdkMs.map((m) => m.toFixed(0))} ORT ${r.ortMs.map((m) => m.toFixed(0))}`);
  assert.equal(r.crossOriginIsolated, true);
  assert.ok(r.moved > 2e-3, 'the network changed the frame');
  assert.ok(r.maxAbsDiff <= 1e-3, `max difference ${r.maxAbsDiff}`);
  return r;
}

test('onnxruntime-web wasm EP equals the SDK on wasm within 1e-3 (tiny and base, 130x90: padded)', { skip }, async () => {
  await compare('wasm', { preset: 'tiny', w: 130, h: 90, ep: 'wasm' });
  await compare('wasm', { preset: 'base', w: 130, h: 90, ep: 'wasm' });
});

test('onnxruntime-web WebGPU EP equals the SDK on webgpu within 1e-3 (tiny, 64x64, SwiftShader)', { skip }, async () => {
  await compare('webgpu', { preset: 'tiny', w: 64, h: 64, ep: 'webgpu' });
});
