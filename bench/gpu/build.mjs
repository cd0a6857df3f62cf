#!/usr/bin/env node
/**
 * Bundles bench/gpu/bench.ts with the SDK from src (tfjs, its webgpu and wasm backends, the shipped
 * presets) into ONE file, bench/gpu/dist/bench.mjs, that runs on a bare Node with no node_modules, and
 * copies Dawn's native module (`webgpu` package, dist/<platform>-<arch>/dawn.node: native files cannot be
 * bundled) beside it, where bench.ts looks first, and the wasm backend's .wasm binaries, which tfjs reads from
 * beside the bundle in Node. Run by bench/gpu/prepare.sh; `--out DIR` to build elsewhere.
 */
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { installedWasmBackend, WASM_BINARY_NAMES } from '../../scripts/embed-wasm.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { values: args } = parseArgs({ options: { out: { type: 'string', default: join(root, 'bench/gpu/dist') } } });
mkdirSync(args.out, { recursive: true });

const outfile = join(args.out, 'bench.mjs');
await build({
  entryPoints: [join(root, 'bench/gpu/bench.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // The CommonJS parts of tfjs call require() for Node's modules and the wasm backend reads its binaries
  // from __dirname; an ES module has neither of its own.
  banner: {
    js: [
      "import { createRequire as __benchCreateRequire } from 'node:module';",
      "import { fileURLToPath as __benchFileURLToPath } from 'node:url';",
      'const require = __benchCreateRequire(import.meta.url);',
      'const __filename = __benchFileURLToPath(import.meta.url);',
      "const __dirname = __filename.slice(0, __filename.lastIndexOf('/'));",
    ].join(' '),
  },
  logLevel: 'warning',
  legalComments: 'none',
});

const webgpuPkg = createRequire(join(root, 'package.json')).resolve('webgpu/package.json');
const dawn = join(dirname(webgpuPkg), 'dist', `${process.platform}-${process.arch}`, 'dawn.node');
copyFileSync(dawn, join(args.out, 'dawn.node'));
// The wasm backend (`--backend wasm`, a dry run without a GPU) loads its binaries from beside the bundle in Node.
const wasm = installedWasmBackend(root);
for (const name of WASM_BINARY_NAMES) copyFileSync(join(wasm.dist, name), join(args.out, name));

const mib = (f) => (statSync(f).size / 2 ** 20).toFixed(1);
console.log(`built ${outfile} (${mib(outfile)} MiB) and ${join(args.out, 'dawn.node')} (${mib(dawn)} MiB, from ${dawn})`);
