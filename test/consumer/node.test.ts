/**
 * The packed package in Node: ESM `import` and CJS `require` of `simpleir-stream`, `simpleir-stream/node`
 * and `simpleir-stream/browser` from a scratch app, a preset loaded with no options and an image made by
 * ffmpeg restored (equal to the same restore done from the sources), and the installed `simpleir` bin.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { readImage } from '../../src/adapters/node/image-file';
import type { RGBImage } from '../../src/core/image';
import { restoreInNode } from './browser-app';
import { scratchApp, type ScratchApp } from './scratch';

const run = promisify(execFile);

let app: ScratchApp;
let dir: string;
let input: string;
let image: RGBImage;

before(async () => {
  app = await scratchApp();
  dir = await mkdtemp(join(tmpdir(), 'simpleir-consumer-node-'));
  input = join(dir, 'input.png');
  await run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'mandelbrot=size=640x360', '-vf', 'noise=alls=30:all_seed=3', '-frames:v', '1', input]);
  image = await readImage(input);
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Largest difference between two images' samples (sizes must match). */
function maxDiff(a: RGBImage, b: RGBImage): number {
  assert.deepEqual([a.width, a.height, a.channels], [b.width, b.height, b.channels]);
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i]! - b.data[i]!));
  return m;
}

const ESM_APP = `import { SimpleIR, currentBackend } from 'simpleir-stream';
import { readImage, writeImage } from 'simpleir-stream/node';
import * as browser from 'simpleir-stream/browser';
const [input, output, preset] = process.argv.slice(2);
globalThis.fetch = () => { throw new Error('offline: the presets must not be fetched'); };
const model = await SimpleIR.load(preset);
await writeImage(output, await model.restore(await readImage(input)));
model.dispose();
console.log(JSON.stringify({ backend: currentBackend(), fromMp4: typeof browser.fromMp4, sameClass: browser.SimpleIR === SimpleIR }));
`;

const CJS_APP = `const { SimpleIR, currentBackend } = require('simpleir-stream');
const { readImage, writeImage } = require('simpleir-stream/node');
const browser = require('simpleir-stream/browser');
const [input, output, preset] = process.argv.slice(2);
globalThis.fetch = () => { throw new Error('offline: the presets must not be fetched'); };
(async () => {
  const model = await SimpleIR.load(preset);
  await writeImage(output, await model.restore(await readImage(input)));
  model.dispose();
  console.log(JSON.stringify({ backend: currentBackend(), fromMp4: typeof browser.fromMp4, sameClass: browser.SimpleIR === SimpleIR }));
})().catch((e) => { console.error(e); process.exitCode = 1; });
`;

for (const [kind, file, code] of [['ESM import', 'app.mjs', ESM_APP], ['CJS require', 'app.cjs', CJS_APP]] as const) {
  for (const preset of ['tiny', 'base'] as const) {
    test(`Node, ${kind} of the three entries: '${preset}' with no options (no fetch) restores a 640x360 image as the sources do`, async () => {
      const script = join(app.dir, file);
      await writeFile(script, code);
      const output = join(dir, `${file}-${preset}.png`);
      const { stdout } = await app.exec(process.execPath, [script, input, output, preset]);
      assert.deepEqual(JSON.parse(stdout.trim().split('\n').at(-1)!), { backend: 'wasm', fromMp4: 'function', sameClass: true });
      const got = await readImage(output);
      const want = await restoreInNode(preset, image);
      assert.equal(maxDiff(got, want), 0, 'the installed package restores differently from the sources');
      assert.ok(maxDiff(got, image) > 10, 'the restore left the image unchanged');
    });
  }
}

test('the installed simpleir bin: --help and restore --model tiny', async () => {
  const help = await app.exec('npx', ['--no-install', 'simpleir', '--help']);
  assert.match(help.stdout, /Usage: simpleir/);
  assert.match(help.stdout, /restore/);
  const output = join(dir, 'bin-tiny.png');
  await app.exec('npx', ['--no-install', 'simpleir', 'restore', input, '-o', output, '--model', 'tiny']);
  const got = await readImage(output);
  assert.equal(maxDiff(got, await restoreInNode('tiny', image)), 0, 'the bin restores differently from the sources');
});

test("the installed package's built-in wasm binaries are the consumer's installed @tensorflow/tfjs-backend-wasm files, byte for byte", async () => {
  const dist = join(app.dir, 'node_modules/simpleir-stream/dist');
  const wasmDist = join(app.dir, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
  const names = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];
  const files = await readdir(dist);
  for (const format of ['.js', '.cjs']) {
    for (const name of names) {
      // tsup names each binary's chunk after it: tfjs-backend-wasm-simd-<hash>.js
      const chunk = files.filter((f) => new RegExp(`^${name.replace('.wasm', '')}-[A-Z0-9]+\\${format}$`).test(f));
      assert.equal(chunk.length, 1, `${name}: expected one ${format} chunk in dist/, got ${chunk.join(', ') || 'none'}`);
      const m = (await import(pathToFileURL(join(dist, chunk[0]!)).href)) as { data?: string; default?: { data?: string } };
      const base64 = m.data ?? m.default?.data;
      assert.equal(typeof base64, 'string', `${chunk[0]}: no data export`);
      assert.ok(Buffer.from(base64!, 'base64').equals(await readFile(join(wasmDist, name))), `${chunk[0]} differs from the installed ${name}`);
    }
  }
});
