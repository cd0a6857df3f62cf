/**
 * The packed package's browser entries reach no Node built-in: the test walks the imports of the built
 * ESM files (static, re-exports and dynamic imports with a literal name) from `dist/browser.js` and
 * `dist/index.js` of the installed tarball. Also: the presets built into the package are the bytes of
 * weights/, and `sideEffects` lists every built file that registers something on import.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { before, test } from 'node:test';
import { embeddedPreset } from '../../src/core/model/source';
import { REPO_ROOT, scratchApp, type ScratchApp } from './scratch';

const IMPORT_PATTERNS = [
  /\b(?:import|export)\s*(?:[\w$*{}\s,]+?\s*from\s*)?["']([^"']+)["']/g,
  /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
];

/** The module names a built ESM file imports (static and literal dynamic imports, re-exports). */
export function importsOf(code: string): string[] {
  const names = new Set<string>();
  for (const pattern of IMPORT_PATTERNS) for (const m of code.matchAll(pattern)) names.add(m[1]!);
  return [...names];
}

function isNodeBuiltin(name: string): boolean {
  return name.startsWith('node:') || builtinModules.includes(name) || builtinModules.includes(name.split('/')[0]!);
}

/** Every file reached from `entry` through relative imports, with the bare names each imports. */
async function walk(entry: string): Promise<Map<string, string[]>> {
  const seen = new Map<string, string[]>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    const names = importsOf(await readFile(file, 'utf8'));
    seen.set(file, names.filter((n) => !n.startsWith('.')));
    for (const n of names) if (n.startsWith('.')) queue.push(join(dirname(file), n));
  }
  return seen;
}

let app: ScratchApp;
let pkgDir: string;
before(async () => {
  app = await scratchApp();
  pkgDir = join(app.dir, 'node_modules/simpleir-stream');
});

test('the walker finds static, re-exported and dynamic imports (and would see a Node built-in)', () => {
  const code = 'import x from "path";import{a as b}from"./chunk-A.js";export{c}from "./c.js";import "url";const t=import("./tiny-X.js");import*as f from "node:fs";';
  assert.deepEqual(importsOf(code).sort(), ['./c.js', './chunk-A.js', './tiny-X.js', 'node:fs', 'path', 'url']);
  assert.ok(isNodeBuiltin('path') && isNodeBuiltin('node:fs') && isNodeBuiltin('fs/promises') && !isNodeBuiltin('rxjs'));
});

for (const entry of ['dist/browser.js', 'dist/index.js']) {
  test(`${entry} of the installed package reaches no Node built-in`, async () => {
    const graph = await walk(join(pkgDir, entry));
    const files = [...graph.keys()].map((f) => relative(pkgDir, f));
    assert.ok(files.some((f) => /^dist\/tiny-\w+\.js$/.test(f)) && files.some((f) => /^dist\/base-\w+\.js$/.test(f)), `the preset chunks are not reachable from ${entry}: ${files.join(', ')}`);
    const pkg = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const [file, names] of graph) {
      for (const name of names) {
        assert.ok(!isNodeBuiltin(name), `${relative(pkgDir, file)} imports the Node built-in "${name}"`);
        const pkgName = name.startsWith('@') ? name.split('/').slice(0, 2).join('/') : name.split('/')[0]!;
        assert.ok(pkgName in pkg.dependencies, `${relative(pkgDir, file)} imports "${name}", which is not a dependency`);
      }
    }
  });
}

/** Files under `dir` (relative to the repository root) whose source calls the converter registry (or the worker's server) at top level. */
async function sourcesRegistering(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(join(REPO_ROOT, dir), { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const file = join(entry.parentPath, entry.name);
    if (/^(?:registerFrameConverter|serveModel)\(/m.test(await readFile(file, 'utf8'))) found.push(relative(REPO_ROOT, file));
  }
  return found.sort();
}

test('sideEffects lists exactly the files that register something (or serve the worker) on import (built and source), and those files exist', async () => {
  const pkg = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8')) as { sideEffects: string[] | boolean };
  assert.ok(Array.isArray(pkg.sideEffects), 'sideEffects should list the files with side effects');
  const listed = new Set(pkg.sideEffects.map((f) => f.replace(/^\.\//, '')));
  const registering: string[] = [];
  for (const name of await readdir(join(pkgDir, 'dist'))) {
    if (!/\.c?js$/.test(name)) continue;
    const file = join(pkgDir, 'dist', name);
    // A top-level call (at the start of a line) of the converter registry, or of the model worker's
    // server, is a side effect of importing the file: `registerFrameConverter(...)` in ESM,
    // `_chunkX.registerFrameConverter.call(void 0, ...)` in CJS (and the same of `serveModel`).
    if (/^(?:(?:registerFrameConverter|serveModel)\(|[\w$]+\.(?:registerFrameConverter|serveModel)\.call\()/m.test(await readFile(file, 'utf8'))) {
      registering.push(relative(pkgDir, file));
      assert.ok(listed.has(relative(pkgDir, file)), `${relative(pkgDir, file)} registers a frame converter on import but is not in sideEffects`);
    }
  }
  assert.deepEqual(registering.sort(), ['dist/browser.cjs', 'dist/browser.js', 'dist/worker.js'], 'the VideoFrame converter should be registered by the browser entry only, the model served by the worker entry only (ESM and CJS)');
  // dist/ entries are in the package; src/ entries matter to bundles of the sources (the demo pages, the
  // test pages): esbuild drops a module's top-level call unless the module is listed.
  for (const f of listed) {
    if (f.startsWith('src/')) await readFile(join(REPO_ROOT, f));
    else await readFile(join(pkgDir, f));
  }
  const registeringSources = await sourcesRegistering('src');
  assert.deepEqual(registeringSources, ['src/browser.ts', 'src/worker.ts'], 'only the browser entry should register the VideoFrame converter, and only the worker entry serve the model: update this test and sideEffects');
  assert.deepEqual([...listed].sort(), [...registering, ...registeringSources].sort(), 'sideEffects should list exactly the files that register on import');
});

for (const preset of ['tiny', 'base'] as const) {
  test(`the '${preset}' preset built into the package is weights/${preset}.json + .bin, byte for byte`, async () => {
    const files = await embeddedPreset(preset);
    const manifest = JSON.parse(await readFile(join(REPO_ROOT, 'weights', `${preset}.json`), 'utf8')) as unknown;
    assert.deepEqual(files.manifest, manifest);
    const bin = new Uint8Array(await readFile(join(REPO_ROOT, 'weights', `${preset}.bin`)));
    assert.equal(files.data.length, bin.length);
    assert.ok(Buffer.from(files.data).equals(Buffer.from(bin)), `the embedded ${preset} binary differs from weights/${preset}.bin: run npm run embed-weights`);
    // And the packed copy: the installed package's preset chunk holds the same base64.
    const chunks = (await readdir(join(pkgDir, 'dist'))).filter((f) => f.startsWith(`${preset}-`) && f.endsWith('.js'));
    assert.ok(chunks.length >= 1, `no ${preset} chunk in the installed package`);
    for (const chunk of chunks) {
      assert.ok((await readFile(join(pkgDir, 'dist', chunk), 'utf8')).includes(Buffer.from(bin).toString('base64')), `dist/${chunk} does not hold weights/${preset}.bin`);
    }
  });
}
