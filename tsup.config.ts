import { defineConfig, type Options } from 'tsup';
import { embedWasmPlugin } from './scripts/embed-wasm.mjs';

// Two builds. The first: the universal SDK (browser and Node), the browser adapters (WebCodecs,
// MediaStream, WebGPU frames), the Node adapters, and the CLI, in one build: its output shares chunks
// between entries, so one frame-converter registry serves `simpleir-stream` and `simpleir-stream/browser`
// alike, and the CLI uses the same chunks (one copy of each preset in dist/ per format). The CLI's CJS
// copy (dist/cli.cjs) is a by-product; bin/simpleir.js runs dist/cli.js. No shims: tsup's
// `__filename`/`__dirname` shim imports Node's `path` and `url`, which browser bundlers cannot resolve
// (test/consumer/browser-clean.test.ts walks the built imports). The shipped presets become chunks of
// their own, loaded on first use, and so do the wasm backend's binaries (scripts/embed-wasm.mjs builds
// those of the installed @tensorflow/tfjs-backend-wasm in place of src/core/wasm-binaries.ts).
//
// The second: dist/worker.js, the model worker (`simpleir-stream/worker`), one ESM file with no chunks
// (presets and wasm binaries inlined; npm dependencies stay imports). The browser build starts it with
// `new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })`, a line Vite and webpack
// recognise and bundle the worker from; Vite bundles workers as IIFE by default, which fails on a worker
// that splits into chunks (every Vite app of the package would fail to build). In the CJS build
// `import.meta.url` is defined as undefined (import.meta is a syntax error in CommonJS), so that line
// fails when called (loadWorkerModel then rejects with WORKER_FAILED and asks for `{ worker: url }`),
// never on require. The first build cleans dist/ except the worker's files, so the two can run at once.
const shared: Options = { sourcemap: true, shims: false, target: 'es2022', esbuildPlugins: [embedWasmPlugin()] };

export default defineConfig([
  {
    ...shared,
    entry: { index: 'src/index.ts', browser: 'src/browser.ts', node: 'src/node.ts', cli: 'src/cli/index.ts' },
    format: ['esm', 'cjs'],
    dts: { entry: { index: 'src/index.ts', browser: 'src/browser.ts', node: 'src/node.ts' } },
    clean: ['!worker.js', '!worker.js.map'],
    splitting: true,
    // (src/adapters/node/onnx-file.ts takes `__filename` first there; test/cli-engine.test.ts builds the
    // CJS CLI with this config.)
    esbuildOptions(options, context) {
      if (context.format === 'cjs') options.define = { ...options.define, 'import.meta.url': 'undefined' };
    },
  },
  {
    ...shared,
    entry: { worker: 'src/worker.ts' },
    format: ['esm'],
    clean: false,
    splitting: false,
  },
]);
