import { defineConfig } from 'tsup';

// Entries: the universal SDK (browser and Node), the browser adapters (WebCodecs, MediaStream,
// WebGPU frames), the Node adapters, and the CLI. ESM output shares chunks between entries, so one
// frame-converter registry serves `simpleir-stream` and `simpleir-stream/browser` alike. No shims in the
// library: tsup's `__filename`/`__dirname` shim imports Node's `path` and `url`, which browser bundlers
// cannot resolve (test/consumer/browser-clean.test.ts walks the built imports). The shipped presets
// become chunks of their own, loaded on first use.
export default defineConfig([
  {
    entry: { index: 'src/index.ts', browser: 'src/browser.ts', node: 'src/node.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    shims: false,
    target: 'es2022',
    splitting: true,
  },
  {
    entry: { cli: 'src/cli/index.ts' },
    format: ['esm'],
    sourcemap: true,
    shims: true,
    target: 'node20',
    platform: 'node',
  },
]);
