/**
 * wasm threads in the browser: in a cross-origin isolated page, `selectBackend('wasm', { wasmThreads })`
 * starts tfjs's threaded binary with that many threads, even above tfjs's own cap (half of
 * `navigator.hardwareConcurrency`: 1 on this 2-core machine), which the page's navigator reports again
 * afterwards; the restored frame is the same to the byte as on one thread. Without isolation, wasm runs
 * on one thread and says why. Each case runs in a new page: the thread count is set once per page.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer, type StaticServer } from '../../scripts/serve';
import { bundleForBrowser, createBrowserFixture, openPage, PAGES_DIR, runInPage, TEST_ROUTES, type BrowserFixture, type TestPage } from './harness';
import type { ThreadsRun } from './pages/wasm-threads-entry';

const ENTRY = 'test/browser/pages/wasm-threads-entry.ts';
let fx: BrowserFixture | undefined;
let script: string;
const servers: StaticServer[] = [];

before(async () => {
  script = (await bundleForBrowser(ENTRY)).url;
  fx = await createBrowserFixture();
});

after(async () => {
  await fx?.close();
  await Promise.all(servers.map((s) => s.close()));
});

async function run(threads: number | 'auto', server?: StaticServer): Promise<ThreadsRun> {
  const page: TestPage = server ? await openPage(fx!.context, server, '/blank.html', { script: new URL(script, fx!.server.url).pathname }) : await fx!.open('/blank.html', { script });
  try {
    return await runInPage(page, (n) => window.threadsRun(n), threads);
  } finally {
    await page.close();
  }
}

let oneThread: ThreadsRun | undefined;

test('wasmThreads: 1 in an isolated page: one thread', async () => {
  const r = await run(1);
  oneThread = r;
  assert.equal(r.crossOriginIsolated, true);
  assert.equal(r.info.name, 'wasm');
  assert.equal(r.info.wasmThreads, 1);
  assert.equal(r.tfjsThreads, 1);
  assert.deepEqual(r.warnings, []);
  assert.equal(r.output.length, 64 * 64 * 3);
  assert.equal(r.tensorsLeft, 0);
});

test('wasmThreads: 2 in an isolated page: tfjs reports 2 threads, the output equals one thread\'s byte for byte, the navigator is put back', async () => {
  const r = await run(2);
  console.log(`# hardwareConcurrency ${r.coresBefore}; threads ${r.tfjsThreads}`);
  assert.equal(r.crossOriginIsolated, true);
  assert.equal(r.info.wasmThreads, 2);
  assert.equal(r.tfjsThreads, 2);
  assert.deepEqual(r.warnings, []);
  assert.equal(r.coresAfter, r.coresBefore, 'navigator.hardwareConcurrency was not put back');
  assert.ok(oneThread, 'the one-thread case did not run');
  assert.ok(r.output.some((v, i) => v !== (i * 37 + ((i / 192) | 0) * 11) % 256), 'the model changed nothing');
  assert.deepEqual(r.output, oneThread.output);
  assert.equal(r.tensorsLeft, 0);
});

test("wasmThreads 'auto' keeps tfjs's choice: half of hardwareConcurrency, at least 1, at most 8", async () => {
  const r = await run('auto');
  assert.equal(r.info.wasmThreads, Math.min(8, Math.max(1, Math.floor(r.coresBefore / 2))));
  assert.deepEqual(r.warnings, []);
});

test('without cross-origin isolation: one thread, and a warning that says why', async () => {
  const server = await startServer({
    root: PAGES_DIR,
    routes: TEST_ROUTES,
    headers: { 'Cross-Origin-Opener-Policy': 'unsafe-none', 'Cross-Origin-Embedder-Policy': 'unsafe-none' },
  });
  servers.push(server);
  const r = await run(2, server);
  assert.equal(r.crossOriginIsolated, false);
  assert.equal(r.info.wasmThreads, 1);
  assert.equal(r.warnings.length, 1, JSON.stringify(r.warnings));
  assert.match(r.warnings[0]!, /wasm runs on 1 thread, not the 2 asked .*not cross-origin isolated.*Cross-Origin-Embedder-Policy: require-corp/);
  assert.deepEqual(r.info.warnings, r.warnings);
  assert.deepEqual(r.output, oneThread?.output, 'the output differs from the isolated one-thread run');
});

test('a thread count asked after wasm started: a warning, the count unchanged', async () => {
  const page = await fx!.open('/blank.html', { script });
  try {
    const r = await runInPage(page, (n) => window.threadsRun(n), 1);
    const warnings = await runInPage(page, (n) => window.threadsAgain(n), 2);
    assert.equal(r.tfjsThreads, 1);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /wasmThreads 2 came after the wasm backend started on 1 thread/);
  } finally {
    await page.close();
  }
});
