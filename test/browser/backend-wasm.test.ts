/**
 * The wasm backend's binaries built into the package, in headless Chromium, with the page bundled as
 * the package is built (esbuild with the build step of tsup.config.ts): with no `wasmPaths` the
 * automatic choice starts wasm from the built-in binary (the page's server has no .wasm file to give);
 * an app's `wasmPaths` wins; a Content-Security-Policy that forbids WebAssembly makes the choice pass
 * wasm over, saying why, and go on.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { build } from 'esbuild';
import { embedWasmPlugin } from '../../scripts/embed-wasm.mjs';
import { startServer, type StaticServer } from '../../scripts/serve';
import { launchBrowser, openPage, REPO_ROOT, runInPage, WASM_DIR, type TestPage } from './harness';
import type { BackendInfo } from '../../src/core/backend';

let dir: string;
let context: Awaited<ReturnType<typeof launchBrowser>>;
const servers: StaticServer[] = [];

before(async () => {
  await mkdir(join(REPO_ROOT, '.scratch'), { recursive: true });
  dir = await mkdtemp(join(REPO_ROOT, '.scratch', 'wasm-embedded-page-'));
  await build({
    entryPoints: { app: join(REPO_ROOT, 'test/browser/pages/wasm-embedded-entry.ts') },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    splitting: true,
    outdir: dir,
    plugins: [embedWasmPlugin(REPO_ROOT)],
    logLevel: 'silent',
  });
  await writeFile(join(dir, 'index.html'), '<!doctype html><html><head><meta charset="utf-8"></head><body></body></html>\n');
  context = await launchBrowser();
});

after(async () => {
  await context?.close().catch(() => undefined);
  await Promise.all(servers.map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

/** Serves the built page (and the package's .wasm files at /wasm/) with `headers`; opens it; records the URLs it requests. */
async function openApp(headers: Record<string, string> = {}, ignoreErrors: RegExp[] = []): Promise<{ page: TestPage; requests: string[] }> {
  const server = await startServer({ root: dir, routes: { '/wasm/': WASM_DIR }, headers });
  servers.push(server);
  const page = await openPage(context, server, '/index.html', { script: '/app.js', ignoreErrors: [/Initialization of backend/, ...ignoreErrors] });
  const requests: string[] = [];
  page.page.on('request', (r) => requests.push(r.url()));
  return { page, requests };
}

test('no wasmPaths: the automatic choice starts wasm from the built-in binary, fetching no .wasm file from the server', async () => {
  const { page, requests } = await openApp();
  const info = await runInPage(page, () => window.autoWasm(), undefined, { timeoutMs: 120_000 });
  await page.close();
  console.log(`# ${info.name}, skipped ${JSON.stringify(info.skipped)}`);
  assert.equal(info.name, 'wasm');
  assert.ok(!info.skipped.some((s) => s.name === 'wasm'), 'wasm was skipped');
  const fromServer = requests.filter((u) => u.startsWith('http') && u.endsWith('.wasm'));
  assert.deepEqual(fromServer, [], 'the page fetched .wasm files from its server');
  page.assertNoErrors();
});

test("an app's wasmPaths wins over the built-in binaries", async () => {
  const { page, requests } = await openApp();
  const info = await runInPage(page, () => window.wasmAt('/wasm/'), undefined, { timeoutMs: 120_000 });
  await page.close();
  assert.equal(info.name, 'wasm');
  const fromServer = requests.filter((u) => u.endsWith('.wasm')).map((u) => new URL(u).pathname);
  assert.equal(fromServer.length, 1, `expected one .wasm fetched from /wasm/, got ${JSON.stringify(requests)}`);
  assert.match(fromServer[0]!, /^\/wasm\/tfjs-backend-wasm(-simd|-threaded-simd)?\.wasm$/);
});

test('a Content-Security-Policy without wasm-unsafe-eval: wasm is passed over with the reason, another backend is chosen', async () => {
  // CSP reports its refusals on the console as errors: expected here.
  const { page } = await openApp({ 'Content-Security-Policy': "script-src 'self'" }, [/Content Security Policy|wasm-unsafe-eval|WebAssembly|Aborted|both async and sync fetching/i]);
  const info: BackendInfo = await runInPage(page, () => window.autoWasm(), undefined, { timeoutMs: 180_000 });
  await page.close();
  console.log(`# ${info.name}, skipped ${JSON.stringify(info.skipped)}`);
  assert.notEqual(info.name, 'wasm');
  const wasm = info.skipped.find((s) => s.name === 'wasm');
  assert.ok(wasm, `wasm is not among the skipped backends: ${JSON.stringify(info.skipped)}`);
  assert.match(wasm.reason, /^initialisation failed/);
  assert.match(wasm.reason, /Content-Security-Policy/);
  assert.match(wasm.reason, /wasmPaths/);
});

test('wasmThreads with the built-in threaded binary: 2 threads in a cross-origin isolated page, none fetched from the server', async () => {
  const { page, requests } = await openApp();
  const r = await runInPage(page, (n) => window.wasmThreadsEmbedded(n), 2, { timeoutMs: 120_000 });
  await page.close();
  assert.equal(r.info.name, 'wasm');
  assert.equal(r.info.wasmThreads, 2);
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(requests.filter((u) => u.startsWith('http') && u.endsWith('.wasm')), []);
});
