/**
 * Browser test harness: headless Chromium (Debian's, through playwright-core) with WebGPU on
 * SwiftShader, WebCodecs and a fake webcam; esbuild bundles of test entries; a static server.
 *
 * Typical use (see smoke.test.ts):
 *
 *   const fx = await createBrowserFixture();                     // server + browser
 *   const tp = await fx.open('/blank.html', { entry: 'test/browser/pages/my-entry.ts' });
 *   const out = await runInPage(tp, (n) => (window as any).myFn(n), 3);
 *   await fx.close();
 *
 * Functions given to `runInPage` run in the page: they are serialized, so they cannot use
 * variables of the test file; pass data through `arg`, and return plain JSON-like values
 * (convert typed arrays with Array.from).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build, version as esbuildVersion } from 'esbuild';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startServer, type StaticServer } from '../../scripts/serve';

/** Repository root (two levels above this file). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** Static pages served at `/`. */
export const PAGES_DIR = join(REPO_ROOT, 'test/browser/pages');
/** Where bundles go (git-ignored through `.cache/`); served at `/bundles/`. */
export const BUNDLE_DIR = join(REPO_ROOT, '.cache/browser-bundles');
/** The tfjs wasm backend's binaries; served at `/wasm/` (pages call `setWasmPaths('/wasm/')`). */
export const WASM_DIR = join(REPO_ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');

/** Default routes of the test server (URL prefix -> directory). */
export const TEST_ROUTES: Readonly<Record<string, string>> = {
  '/bundles/': BUNDLE_DIR,
  '/wasm/': WASM_DIR,
  '/fixtures/': join(REPO_ROOT, 'test/fixtures'),
  '/cache/': join(REPO_ROOT, '.cache'),
  '/weights/': join(REPO_ROOT, 'weights'),
};

/** Generous timeouts: WebGPU here is SwiftShader (a CPU Vulkan), 2 cores shared. */
export const TIMEOUTS = {
  launch: 60_000,
  navigation: 60_000,
  evaluate: 180_000,
} as const;

/**
 * Chromium switches verified on this machine kind (docs: /work/shared/browser-testing.md).
 * All three of Vulkan / swiftshader / angle=vulkan are needed for importExternalTexture and
 * copyExternalImageToTexture of a VideoFrame. Never add --disable-software-rasterizer (no adapter then).
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-angle=vulkan',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
];

/** Browsers and servers not closed yet: closed after the test file's tests as a safety net. */
const openResources = new Set<{ close(): Promise<void> }>();
if (process.env.NODE_TEST_CONTEXT) {
  // A browser left open keeps the test file's process alive forever (no per-file timeout).
  // Registered at import time, so this is a root-level hook of the test file.
  after(async () => {
    if (openResources.size === 0) return;
    console.log(`# harness: closing ${openResources.size} browser(s)/server(s) the test left open`);
    await Promise.allSettled([...openResources].map((r) => r.close()));
  });
}

const CHROMIUM_CANDIDATES = ['/usr/lib/chromium/chromium-headless-shell', '/usr/bin/chromium'];

/** The Chromium binary: $CHROMIUM_PATH, else Debian's headless shell, else Debian's full Chromium. Throws when none exists. */
export function findChromium(): string {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH=${fromEnv} does not exist.`);
    return fromEnv;
  }
  const found = CHROMIUM_CANDIDATES.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `Chromium not found (looked at ${CHROMIUM_CANDIDATES.join(', ')}). ` +
        'Install it with `apt-get install -y chromium-headless-shell` (never `playwright install`), ' +
        'set CHROMIUM_PATH, or skip browser tests knowingly with SIMPLEIR_SKIP_BROWSER=1.',
    );
  }
  return found;
}

export interface LaunchOptions {
  /** Absolute path of a .y4m (or .mjpeg) clip fed to the fake webcam; it loops. */
  fakeVideo?: string;
  /** More Chromium switches. */
  args?: string[];
}

/**
 * Launches headless Chromium with a fresh temporary profile. `context.close()` also removes the profile.
 * Camera access is granted without a prompt (`--use-fake-ui-for-media-stream`).
 */
export async function launchBrowser(options: LaunchOptions = {}): Promise<BrowserContext> {
  const executablePath = findChromium();
  const args = [...CHROMIUM_ARGS, ...(options.args ?? [])];
  if (options.fakeVideo !== undefined) {
    if (!isAbsolute(options.fakeVideo)) throw new Error(`fakeVideo must be an absolute path, got ${options.fakeVideo}`);
    if (!existsSync(options.fakeVideo)) throw new Error(`fakeVideo ${options.fakeVideo} does not exist`);
    args.push(`--use-file-for-fake-video-capture=${options.fakeVideo}`);
  }
  const profile = await mkdtemp(join(tmpdir(), 'simpleir-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args,
      timeout: TIMEOUTS.launch,
    });
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw new Error(`Could not launch Chromium (${executablePath}): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  // tsx compiles test files with esbuild's keepNames, so functions handed to page.evaluate
  // call esbuild's `__name` helper (e.g. `const f = () => 1` becomes `__name(() => 1, "f")`),
  // which does not exist in the page: provide it there.
  await context.addInitScript(
    'globalThis.__name ??= (target, value) => Object.defineProperty(target, "name", { value, configurable: true });',
  );
  const close = context.close.bind(context);
  let closing: Promise<void> | undefined;
  const resource = { close: () => context.close() };
  context.close = (closeOptions?: { reason?: string }) =>
    (closing ??= close(closeOptions).finally(() => {
      openResources.delete(resource);
      return rm(profile, { recursive: true, force: true, maxRetries: 3 });
    }));
  openResources.add(resource);
  return context;
}

export interface Bundle {
  /** Absolute path of the bundle. */
  file: string;
  /** Its URL path on the test server (`/bundles/<name>.js`), valid when built into BUNDLE_DIR. */
  url: string;
  /** False when the cached bundle was still fresh. */
  rebuilt: boolean;
  /** Milliseconds spent (checking or building). */
  ms: number;
}

interface BundleManifest {
  key: string;
  inputs: Record<string, number>;
}

const inFlight = new Map<string, Promise<Bundle>>();

async function isFresh(outfile: string, manifestFile: string, key: string): Promise<boolean> {
  if (!existsSync(outfile)) return false;
  let manifest: BundleManifest;
  try {
    manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as BundleManifest;
  } catch {
    return false;
  }
  if (manifest.key !== key) return false;
  const checks = await Promise.all(
    Object.entries(manifest.inputs).map(async ([file, mtime]) => {
      const s = await stat(resolve(REPO_ROOT, file)).catch(() => null);
      return s !== null && s.mtimeMs === mtime;
    }),
  );
  return checks.every(Boolean);
}

async function writeAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

/**
 * Bundles a browser entry (TypeScript, ESM) with esbuild: everything bundled (tfjs included),
 * format esm, platform browser, target es2022, inline source map. The output is cached: it is
 * rebuilt only when the mtime of one of its inputs changed (checked across processes through a
 * manifest next to it). Names are `<entry name>.<hash of its path>.js`.
 */
export async function bundleForBrowser(entry: string, outdir: string = BUNDLE_DIR): Promise<Bundle> {
  const entryPath = resolve(REPO_ROOT, entry);
  const outDirPath = resolve(REPO_ROOT, outdir);
  const cacheKey = `${entryPath}\0${outDirPath}`;
  const pending = inFlight.get(cacheKey);
  if (pending) return pending;
  const job = (async (): Promise<Bundle> => {
    const t0 = performance.now();
    if (!existsSync(entryPath)) throw new Error(`bundleForBrowser: entry ${entryPath} does not exist`);
    // The absolute path: two checkouts sharing one .cache (git worktrees) must not overwrite each other's bundles.
    const name = `${basename(entryPath, extname(entryPath))}.${createHash('sha1').update(entryPath).digest('hex').slice(0, 8)}.js`;
    const outfile = join(outDirPath, name);
    const manifestFile = `${outfile}.inputs.json`;
    const url = `/bundles/${name}`;
    const key = `esbuild ${esbuildVersion} v1`;
    if (await isFresh(outfile, manifestFile, key)) {
      return { file: outfile, url, rebuilt: false, ms: performance.now() - t0 };
    }
    await mkdir(outDirPath, { recursive: true });
    const result = await build({
      entryPoints: [entryPath],
      outfile,
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      sourcemap: 'inline',
      metafile: true,
      write: false,
      logLevel: 'silent',
      absWorkingDir: REPO_ROOT,
    });
    const js = result.outputFiles.find((f) => f.path.endsWith('.js'));
    if (!js) throw new Error(`bundleForBrowser: esbuild produced no .js for ${entryPath}`);
    const inputs: Record<string, number> = {};
    await Promise.all(
      Object.keys(result.metafile.inputs).map(async (input) => {
        // esbuild names inputs relative to absWorkingDir; skip virtual ones (e.g. "<define:...>").
        if (input.includes(':') && !isAbsolute(input)) return;
        const s = await stat(resolve(REPO_ROOT, input)).catch(() => null);
        if (s) inputs[input] = s.mtimeMs;
      }),
    );
    await writeAtomic(outfile, js.contents);
    await writeAtomic(manifestFile, JSON.stringify({ key, inputs } satisfies BundleManifest));
    return { file: outfile, url, rebuilt: true, ms: performance.now() - t0 };
  })();
  inFlight.set(cacheKey, job);
  try {
    return await job;
  } finally {
    inFlight.delete(cacheKey);
  }
}

/** Starts the static server for browser tests: test/browser/pages at `/` plus {@link TEST_ROUTES}. */
export async function startTestServer(extraRoutes: Record<string, string> = {}): Promise<StaticServer> {
  const server = await startServer({ root: PAGES_DIR, routes: { ...TEST_ROUTES, ...extraRoutes } });
  const close = server.close;
  const resource = { close: () => server.close() };
  server.close = () => close().finally(() => openResources.delete(resource));
  openResources.add(resource);
  return server;
}

export interface OpenPageOptions {
  /** A browser entry (path from the repo root) to bundle and import once the page has loaded. */
  entry?: string;
  /** A script URL to import once the page has loaded (e.g. `bundle.url`). */
  script?: string;
  /** Make `runInPage` and `assertNoErrors` fail on console errors and page errors (default true). */
  failOnErrors?: boolean;
  /** Console errors / page errors that are expected (matched against the message). */
  ignoreErrors?: RegExp[];
  /** Print the page's console to stderr (also with SIMPLEIR_BROWSER_LOG=1). */
  log?: boolean;
}

/** A page plus everything it reported. */
export interface TestPage {
  page: Page;
  /** Console errors, uncaught page errors and crashes, in order. */
  errors: string[];
  /** Every console message, `[type] text`. */
  console: string[];
  failOnErrors: boolean;
  /** Throws when the page reported errors (other than ignored ones). */
  assertNoErrors(): void;
  close(): Promise<void>;
}

/** Opens `path` (e.g. `/blank.html`) of `server` in a new page, collecting console and page errors. */
export async function openPage(
  context: BrowserContext,
  server: StaticServer | string,
  path = '/blank.html',
  options: OpenPageOptions = {},
): Promise<TestPage> {
  const base = typeof server === 'string' ? server : server.url;
  const ignore = options.ignoreErrors ?? [];
  const log = options.log ?? /^(1|true)$/i.test(process.env.SIMPLEIR_BROWSER_LOG ?? '');
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUTS.evaluate);
  page.setDefaultNavigationTimeout(TIMEOUTS.navigation);
  const errors: string[] = [];
  const consoleLines: string[] = [];
  const addError = (text: string): void => {
    if (!ignore.some((re) => re.test(text))) errors.push(text);
  };
  page.on('console', (msg) => {
    const line = `[${msg.type()}] ${msg.text()}`;
    consoleLines.push(line);
    if (log) process.stderr.write(`  browser ${line}\n`);
    if (msg.type() === 'error') {
      const loc = msg.location();
      addError(loc.url ? `console.error: ${msg.text()} (${loc.url}:${loc.lineNumber})` : `console.error: ${msg.text()}`);
    }
  });
  page.on('pageerror', (err) => {
    if (log) process.stderr.write(`  browser [pageerror] ${err.stack ?? err.message}\n`);
    addError(`pageerror: ${err.stack ?? err.message}`);
  });
  page.on('crash', () => errors.push('page crashed'));
  const testPage: TestPage = {
    page,
    errors,
    console: consoleLines,
    failOnErrors: options.failOnErrors ?? true,
    assertNoErrors() {
      if (errors.length > 0) throw new Error(`The page reported ${errors.length} error(s):\n${errors.join('\n')}`);
    },
    close: () => page.close(),
  };
  const response = await page.goto(new URL(path, base).href, { waitUntil: 'load' });
  if (!response || !response.ok()) throw new Error(`GET ${path} answered ${response?.status() ?? 'nothing'}`);
  const scripts: string[] = [];
  if (options.entry !== undefined) scripts.push((await bundleForBrowser(options.entry)).url);
  if (options.script !== undefined) scripts.push(options.script);
  for (const script of scripts) {
    // A dynamic import resolves after the module (and its top-level awaits) ran.
    await runInPage(testPage, (url) => import(url).then(() => undefined), new URL(script, base).href);
  }
  return testPage;
}

export interface RunOptions {
  /** Milliseconds before the call is abandoned (default 180 s). */
  timeoutMs?: number;
}

/**
 * Runs `fn(arg)` in the page and returns its (serializable) result. With a TestPage whose
 * `failOnErrors` is set, also fails when the page reported errors meanwhile or before.
 */
export async function runInPage<A, R>(
  target: TestPage | Page,
  fn: (arg: A) => R | Promise<R>,
  arg: A,
  options: RunOptions = {},
): Promise<R> {
  const testPage = 'page' in target && 'errors' in target ? target : undefined;
  const page = testPage ? testPage.page : (target as Page);
  const timeoutMs = options.timeoutMs ?? TIMEOUTS.evaluate;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const recent = testPage ? `\nLast console lines:\n${testPage.console.slice(-20).join('\n')}` : '';
      reject(new Error(`runInPage timed out after ${timeoutMs} ms${recent}`));
    }, timeoutMs);
  });
  try {
    // playwright-core types the argument as Unboxed<A>; ours is the same thing at run time.
    const evaluation = page.evaluate(fn as never, arg) as Promise<R>;
    const result = await Promise.race([evaluation, timeout]);
    if (testPage?.failOnErrors) testPage.assertNoErrors();
    return result as R;
  } catch (err) {
    if (testPage && testPage.errors.length > 0 && err instanceof Error && !err.message.includes('The page reported')) {
      err.message += `\nPage errors:\n${testPage.errors.join('\n')}`;
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

export interface BrowserFixture {
  context: BrowserContext;
  server: StaticServer;
  /** Opens a page on the fixture's server; see {@link openPage}. */
  open(path?: string, options?: OpenPageOptions): Promise<TestPage>;
  /** Closes the browser and the server. */
  close(): Promise<void>;
}

/** Starts the test server and launches the browser; `close()` undoes both. */
export async function createBrowserFixture(options: LaunchOptions & { routes?: Record<string, string> } = {}): Promise<BrowserFixture> {
  const server = await startTestServer(options.routes);
  let context: BrowserContext;
  try {
    context = await launchBrowser(options);
  } catch (err) {
    await server.close();
    throw err;
  }
  return {
    context,
    server,
    open: (path = '/blank.html', openOptions = {}) => openPage(context, server, path, openOptions),
    close: async () => {
      await context.close().catch(() => undefined);
      await server.close();
    },
  };
}
