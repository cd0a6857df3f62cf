import { defineConfig } from 'tsup';

// Three entries: the universal SDK (browser and Node), Node-only adapters, and the CLI.
export default defineConfig([
  {
    entry: { index: 'src/index.ts', node: 'src/node.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    shims: true,
    target: 'es2022',
    splitting: false,
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
