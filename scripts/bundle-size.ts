/**
 * `npx tsx scripts/bundle-size.ts`: minified + gzipped sizes of (1) the smallest browser consumer
 * (`SimpleIR.load('tiny')`, which selects the backend, and `restore` of one frame, from `simpleir-stream`,
 * with the wasm binaries built in as the package's build does: lazy chunks), as is and
 * with `@tensorflow/tfjs` replaced by `@tensorflow/tfjs-core` + its gradients and chained ops + the
 * cpu and webgl backends (what
 * importing only the tfjs pieces the SDK uses would give), and (2) the demo pages of examples/ bundled
 * as scripts/start.ts does, minified. esbuild, ESM, platform browser, splitting; gzip level 9.
 * Numbers go to docs/performance.md ("Bundle size").
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Metafile, type Plugin } from 'esbuild';
import { embedWasmPlugin } from './embed-wasm.mjs';
import { EXAMPLE_ENTRIES } from './start';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CONSUMER = `import { SimpleIR } from 'simpleir-stream';
const model = await SimpleIR.load('tiny');
const out = await model.restore({ data: new Uint8Array(64 * 64 * 4), width: 64, height: 64, channels: 4 });
console.log(out.width, out.height);
model.dispose();
`;

/** `@tensorflow/tfjs` as only the parts of the umbrella that the SDK uses. */
const tfjsCoreOnly: Plugin = {
  name: 'tfjs-core-only',
  setup(b) {
    b.onResolve({ filter: /^@tensorflow\/tfjs$/ }, () => ({ path: 'tfjs-core-only', namespace: 'tfjs-core-only' }));
    b.onLoad({ filter: /.*/, namespace: 'tfjs-core-only' }, () => ({
      contents: [
        "export * from '@tensorflow/tfjs-core';",
        // What the umbrella registers besides layers, converter and data, and the SDK needs: gradients
        // (training), chained ops (`x.expandDims()`), the cpu and webgl backends.
        "import '@tensorflow/tfjs-core/dist/register_all_gradients';",
        "import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';",
        "import '@tensorflow/tfjs-backend-cpu';",
        "import '@tensorflow/tfjs-backend-webgl';",
      ].join('\n'),
      resolveDir: REPO_ROOT,
    }));
  },
};

interface Sizes {
  /** The entry plus the chunks it imports statically: what a page downloads before it runs. */
  initial: { min: number; gz: number };
  /** Every output file. */
  all: { min: number; gz: number };
  /** Lazily imported chunks by name (e.g. the presets). */
  lazy: Record<string, { min: number; gz: number }>;
}

async function measure(outdir: string, metafile: Metafile, entryOut: string): Promise<Sizes> {
  const sizes = new Map<string, { min: number; gz: number }>();
  for (const file of Object.keys(metafile.outputs)) {
    if (!file.endsWith('.js')) continue;
    const bytes = await readFile(join(REPO_ROOT, file));
    sizes.set(file, { min: bytes.length, gz: gzipSync(bytes, { level: 9 }).length });
  }
  const initial = new Set<string>();
  const lazy = new Set<string>();
  const visit = (file: string): void => {
    if (initial.has(file)) return;
    initial.add(file);
    for (const imp of metafile.outputs[file]?.imports ?? []) {
      if (imp.kind === 'import-statement') visit(imp.path);
      else if (imp.kind === 'dynamic-import') lazy.add(imp.path);
    }
  };
  visit(entryOut);
  const sum = (files: Iterable<string>) => [...files].reduce((a, f) => ({ min: a.min + (sizes.get(f)?.min ?? 0), gz: a.gz + (sizes.get(f)?.gz ?? 0) }), { min: 0, gz: 0 });
  const lazyOnly = [...lazy].filter((f) => !initial.has(f));
  return {
    initial: sum(initial),
    all: sum(sizes.keys()),
    lazy: Object.fromEntries(lazyOnly.map((f) => [relative(outdir, join(REPO_ROOT, f)), sizes.get(f)!])),
  };
}

async function bundleConsumer(tfjsCore: boolean): Promise<Sizes> {
  const dir = await mkdtemp(join(tmpdir(), 'simpleir-size-'));
  try {
    await writeFile(join(dir, 'main.js'), CONSUMER);
    const outdir = join(dir, 'out');
    const result = await build({
      entryPoints: [join(dir, 'main.js')],
      outdir,
      bundle: true,
      splitting: true,
      minify: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      alias: { 'simpleir-stream': join(REPO_ROOT, 'src/index.ts') },
      nodePaths: [join(REPO_ROOT, 'node_modules')],
      plugins: [embedWasmPlugin(REPO_ROOT), ...(tfjsCore ? [tfjsCoreOnly] : [])],
      logLevel: 'error',
      absWorkingDir: REPO_ROOT,
      metafile: true,
    });
    // Dynamic imports are entry points of their own in the metafile: the app's entry is main.js.
    const entryOut = Object.keys(result.metafile.outputs).find((f) => result.metafile.outputs[f]!.entryPoint?.endsWith('main.js'))!;
    return await measure(outdir, result.metafile, entryOut);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function bundleDemo(): Promise<Record<string, Sizes>> {
  const dir = await mkdtemp(join(tmpdir(), 'simpleir-size-demo-'));
  try {
    const result = await build({
      entryPoints: Object.fromEntries(Object.entries(EXAMPLE_ENTRIES).map(([name, entry]) => [name, join(REPO_ROOT, entry)])),
      outdir: dir,
      bundle: true,
      splitting: true,
      minify: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      chunkNames: 'chunks/[name]-[hash]',
      logLevel: 'error',
      absWorkingDir: REPO_ROOT,
      metafile: true,
    });
    const out: Record<string, Sizes> = {};
    for (const [file, o] of Object.entries(result.metafile.outputs)) {
      const name = Object.entries(EXAMPLE_ENTRIES).find(([, entry]) => o.entryPoint === entry)?.[0];
      if (name === undefined || !file.endsWith('.js')) continue;
      out[name] = await measure(dir, result.metafile, file);
    }
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function wasmSizes(): Promise<Record<string, { min: number; gz: number }>> {
  const dir = join(REPO_ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
  const out: Record<string, { min: number; gz: number }> = {};
  for (const f of (await readdir(dir)).filter((n) => n.endsWith('.wasm'))) {
    const bytes = await readFile(join(dir, f));
    out[f] = { min: bytes.length, gz: gzipSync(bytes, { level: 9 }).length };
  }
  return out;
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
const row = (name: string, s: { min: number; gz: number }) => `| ${name} | ${kb(s.min)} | ${kb(s.gz)} |`;

const consumer = await bundleConsumer(false);
const consumerCore = await bundleConsumer(true);
const demo = await bundleDemo();
const wasm = await wasmSizes();
const lines = ['| what | minified | gzipped |', '| --- | --- | --- |'];
lines.push(row('consumer, initial JS (@tensorflow/tfjs)', consumer.initial));
lines.push(row('consumer, initial JS (tfjs-core variant)', consumerCore.initial));
for (const [name, s] of Object.entries(consumer.lazy)) lines.push(row(`consumer, lazy chunk ${name}`, s));
for (const [name, s] of Object.entries(demo)) lines.push(row(`demo page ${name}, initial JS`, s.initial));
const demoAll = Object.values(demo)[0]!.all;
lines.push(row('demo, all pages and chunks', demoAll));
for (const [name, s] of Object.entries(wasm)) lines.push(row(`tfjs-backend-wasm ${name} (fetched when wasm runs)`, s));
console.log(lines.join('\n'));
