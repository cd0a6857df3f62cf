/**
 * `npx tsx bench/webgpu-f16.ts`: whether half-precision WebGPU (`shader-f16`) is usable by the SDK here,
 * in headless Chromium and in Node on Dawn (run with VK_ICD_FILENAMES pointing at a Vulkan driver, e.g.
 * Chromium's SwiftShader: /usr/lib/chromium/vk_swiftshader_icd.json). Prints, per runtime: the adapter,
 * whether it offers `shader-f16`, whether tfjs's own device (after `selectBackend('webgpu')`) has it,
 * and what compiling a WGSL module with `enable f16;` on that device gives. The reasoning that uses these
 * facts is in docs/performance.md ("shader-f16").
 */
import { createRequire } from 'node:module';
import { createBrowserFixture, runInPage } from '../test/browser/harness';

const fx = await createBrowserFixture();
try {
  const page = await fx.open('/blank.html', { entry: 'bench/webgpu-f16-page.ts' });
  console.log(`chromium: ${JSON.stringify(await runInPage(page, () => window.f16Facts(), undefined))}`);
} finally {
  await fx.close();
}
// Through require, untyped: the package's own WebGPU types would replace the DOM's in this program.
const { create, globals } = createRequire(import.meta.url)('webgpu') as { create: (flags: string[]) => GPU; globals: object };
Object.assign(globalThis, globals);
Object.defineProperty(globalThis, 'navigator', { value: { gpu: create([]) }, configurable: true });
// Imported once navigator.gpu exists: tfjs-backend-webgpu registers itself at import time.
const { facts } = await import('./webgpu-f16-page');
console.log(`node (Dawn): ${JSON.stringify(await facts().catch((e: Error) => ({ error: e.message })))}`);
process.exit(0);
