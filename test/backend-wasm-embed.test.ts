/**
 * The wasm backend's binaries built into the package (scripts/embed-wasm.mjs, the build step of
 * tsup.config.ts): the built module hands out exactly the installed @tensorflow/tfjs-backend-wasm's
 * files, each from a lazy chunk of its own, for the exact version package.json pins; the sources embed none.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, transform } from 'esbuild';
import { embedWasmPlugin, installedWasmBackend, WASM_BINARY_NAMES } from '../scripts/embed-wasm.mjs';
import { EMBEDDED_WASM_VERSION, embeddedWasm, type WasmBinaryName } from '../src/core/wasm-binaries';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
let dir: string;

before(async () => {
  await mkdir(join(root, '.scratch'), { recursive: true });
  dir = await mkdtemp(join(root, '.scratch', 'wasm-embed-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

type BuiltModule = { EMBEDDED_WASM_VERSION: string | null; embeddedWasm(name: WasmBinaryName): Promise<string | null> };

test('the sources embed no binary (Node reads them from node_modules, test pages pass wasmPaths)', async () => {
  assert.equal(EMBEDDED_WASM_VERSION, null);
  for (const name of WASM_BINARY_NAMES as WasmBinaryName[]) assert.equal(await embeddedWasm(name), null);
});

test('the build embeds the installed tfjs-backend-wasm binaries byte for byte, each in a lazy chunk, at the pinned version', async () => {
  const out = join(dir, 'out');
  await build({
    entryPoints: { binaries: join(root, 'src/core/wasm-binaries.ts') },
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    splitting: true,
    outdir: out,
    plugins: [embedWasmPlugin(root)],
    logLevel: 'silent',
  });
  const { version, dist } = installedWasmBackend(root);
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  // An exact pin: a consumer's install gets the JS glue the binaries were built for.
  assert.equal(pkg.dependencies['@tensorflow/tfjs-backend-wasm'], version, 'package.json must pin @tensorflow/tfjs-backend-wasm to the exact version built against');
  const files = await readdir(out);
  assert.equal(files.filter((f) => f.endsWith('.js')).length, 1 + WASM_BINARY_NAMES.length, `one entry plus one chunk per binary, got ${files.join(', ')}`);
  const entryText = await readFile(join(out, 'binaries.js'), 'utf8');
  assert.ok(!/[A-Za-z0-9+/]{10000}/.test(entryText), 'the entry module holds a binary instead of importing it lazily');
  const built = (await import(pathToFileURL(join(out, 'binaries.js')).href)) as BuiltModule;
  assert.equal(built.EMBEDDED_WASM_VERSION, version);
  for (const name of WASM_BINARY_NAMES as WasmBinaryName[]) {
    const base64 = await built.embeddedWasm(name);
    assert.ok(base64 !== null, `${name} is not embedded`);
    const want = await readFile(join(dist, name));
    const got = Buffer.from(base64, 'base64');
    assert.equal(got.length, want.length, `${name}: length`);
    assert.ok(got.equals(want), `${name}: the embedded bytes differ from the installed package's file`);
    assert.equal(got.subarray(0, 4).toString('latin1'), '\0asm', `${name} is not a WebAssembly binary`);
  }
});

test('the threaded glue check: the installed glue and its esbuild-minified form pass; the guard rewritten as terser does fails', async () => {
  const { threadedGlueWorksInWorkers } = await import('../src/core/backend');
  const { dist } = installedWasmBackend(root);
  const source = await readFile(join(dist, '../wasm-out/tfjs-backend-wasm-threaded-simd.js'), 'utf8');
  const factoryText = (await import('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js')).default.toString();
  assert.match(factoryText, /typeof _scriptDir !== "undefined" && _scriptDir/);
  assert.equal(threadedGlueWorksInWorkers(factoryText), true);
  const { code } = await transform(source, { minify: true, format: 'cjs' });
  assert.doesNotMatch(code, /_scriptDir/, 'esbuild did not rename the variable: the check below would prove nothing');
  assert.equal(threadedGlueWorksInWorkers(code), true);
  // terser (webpack 5's production minifier) turns the guard of the outer variable into `void 0!==s&&s`.
  assert.equal(threadedGlueWorksInWorkers(factoryText.replace('typeof _scriptDir !== "undefined" && _scriptDir', 'void 0!==s&&s')), false);
});
