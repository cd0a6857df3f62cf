/**
 * Backend choice in headless Chromium, whose WebGPU adapter is SwiftShader (a software fallback adapter):
 * `selectBackend()` measures and passes over it for wasm, saying why; the choice is cached per origin
 * (a second call and a reloaded page measure nothing); `SimpleIR.load` with no backend chosen selects one
 * itself; a choice the app made (`selectBackend(name)`, `tf.setBackend`) wins. Each case runs in a new
 * page: tfjs's backend is per page.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bundleForBrowser, createBrowserFixture, runInPage, type BrowserFixture, type TestPage } from './harness';
import type { LoadResult } from './pages/backend-entry';
import type { BackendInfo } from '../../src/core/backend';

const ENTRY = 'test/browser/pages/backend-entry.ts';
let fx: BrowserFixture | undefined;
let script: string;

before(async () => {
  script = (await bundleForBrowser(ENTRY)).url;
  fx = await createBrowserFixture();
});

after(async () => {
  await fx?.close();
});

async function fresh(): Promise<TestPage> {
  // tfjs warns on the console when a backend it tries fails; the SDK reports those in `skipped`.
  return fx!.open('/blank.html', { script, ignoreErrors: [/Initialization of backend/] });
}

test('selectBackend() measures, rejects the software WebGPU adapter for wasm and says why; the choice is cached per origin', async () => {
  const page = await fresh();
  const first = await runInPage(page, () => window.autoSelect(true), undefined);
  const second = await runInPage(page, () => window.autoSelect(false), undefined);
  const tensors = await runInPage(page, () => window.tensorCount(), undefined);
  await page.close();
  assert.equal(tensors, 0, 'the probe left tensors behind (an abandoned webgpu pass must not keep its tensors)');
  console.log(`# first: ${first.name}, probe ${JSON.stringify(first.probe)}, skipped ${JSON.stringify(first.skipped)}, wasm threads ${first.wasmThreads}`);
  assert.equal(first.name, 'wasm');
  assert.equal(first.fallbackAdapter, false);
  const webgpu = first.skipped.find((s) => s.name === 'webgpu');
  assert.match(webgpu?.reason ?? '', /^software \(fallback\) WebGPU adapter; slower than wasm/);
  assert.equal(first.probe?.cached, false);
  assert.ok(first.probe!.timings.some((t) => t.name === 'webgpu'), 'the software adapter was not measured');
  const wasm = first.probe!.timings.find((t) => t.name === 'wasm');
  assert.ok(wasm?.ms != null && wasm.ms > 0, 'wasm has no time');
  assert.ok(typeof first.wasmThreads === 'number' && first.wasmThreads >= 1);
  // Same page, second call: from the cache, nothing run.
  assert.equal(second.name, 'wasm');
  assert.equal(second.probe?.cached, true);
  assert.equal(second.probe?.elapsedMs, 0);
  assert.deepEqual(second.probe?.timings, first.probe?.timings);
  assert.match(second.skipped.find((s) => s.name === 'webgpu')?.reason ?? '', /^software \(fallback\) WebGPU adapter/);
  // A new page of the same origin: localStorage still has it.
  const reloaded = await fresh();
  const third = await runInPage(reloaded, () => window.autoSelect(false), undefined);
  await reloaded.close();
  assert.equal(third.name, 'wasm');
  assert.equal(third.probe?.cached, true);
  assert.deepEqual(third.probe?.timings, first.probe?.timings);
});

test('SimpleIR.load without selectBackend() selects a backend (the measured one) and restores', async () => {
  const page = await fresh();
  const r: LoadResult = await runInPage(page, () => window.loadTiny('none'), undefined);
  await page.close();
  console.log(`# load without a backend: ${JSON.stringify(r)}`);
  assert.equal(r.backend, 'wasm');
  assert.equal(r.bytes, 16 * 16 * 3);
  assert.ok(r.changed > 0, 'the trained weights changed nothing: the model did not run');
  assert.equal(r.tensorsLeft, 0);
});

test('an explicit choice wins: tf.setBackend("webgpu") by the app, selectBackend("cpu"), selectBackend("webgpu")', async () => {
  let page = await fresh();
  const viaTf = await runInPage(page, () => window.loadTiny('tf-webgpu'), undefined);
  await page.close();
  assert.equal(viaTf.backend, 'webgpu');
  assert.ok(viaTf.changed > 0);
  page = await fresh();
  const viaSdk = await runInPage(page, () => window.loadTiny('sdk-cpu'), undefined);
  const named: BackendInfo = await runInPage(page, () => window.namedSelect('webgpu'), undefined);
  await page.close();
  assert.equal(viaSdk.backend, 'cpu');
  assert.equal(named.name, 'webgpu');
  assert.equal(named.fallbackAdapter, true);
  assert.equal(named.probe, undefined, 'a named backend is not measured');
  assert.match(named.warnings.join(' '), /software \(fallback\) adapter/);
});
