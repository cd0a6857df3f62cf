/**
 * `SimpleIR.load(..., { cache })` in Chromium: weights fetched from the server are kept in the Cache API
 * and read from there on the next load, also in a new page; without the option every load downloads.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createBrowserFixture, runInPage, type BrowserFixture, type TestPage } from './harness';

const ENTRY = 'test/browser/pages/weights-cache-entry.ts';
let fx: BrowserFixture;

before(async () => {
  fx = await createBrowserFixture();
});
after(async () => {
  await fx?.close();
});

/** Opens the entry page and counts its requests for files under /weights/. */
async function open(): Promise<{ tp: TestPage; requests: string[] }> {
  const tp = await fx.open('/blank.html', { entry: ENTRY });
  const requests: string[] = [];
  tp.page.on('request', (r) => {
    const path = new URL(r.url()).pathname;
    if (path.startsWith('/weights/')) requests.push(path);
  });
  return { tp, requests };
}

const load = (tp: TestPage, cache?: boolean | string) => runInPage(tp, (c) => window.loadWeights(c === undefined ? {} : { cache: c }), cache);

test('without cache every load downloads the weights; with cache: true the second load and a new page read the Cache API', async () => {
  const a = await open();
  const plain1 = await load(a.tp);
  const plain2 = await load(a.tp);
  assert.equal(plain1.error, undefined);
  assert.equal(plain1.count, 22356, 'tiny has 22,356 parameters');
  assert.deepEqual(plain2, plain1);
  assert.deepEqual(a.requests, ['/weights/tiny.json', '/weights/tiny.bin', '/weights/tiny.json', '/weights/tiny.bin']);
  assert.deepEqual(await runInPage(a.tp, () => window.cachedUrls(), undefined), [], 'nothing is cached without the option');

  a.requests.length = 0;
  const cached1 = await load(a.tp, true);
  assert.deepEqual(a.requests, ['/weights/tiny.json', '/weights/tiny.bin'], 'the first cached load downloads');
  assert.deepEqual(await runInPage(a.tp, () => window.cachedUrls(), undefined), ['/weights/tiny.bin', '/weights/tiny.json']);
  const cached2 = await load(a.tp, true);
  assert.deepEqual(a.requests, ['/weights/tiny.json', '/weights/tiny.bin'], 'the second cached load downloads nothing');
  assert.deepEqual(cached1, plain1);
  assert.deepEqual(cached2, plain1, 'weights read from the cache equal the downloaded ones');
  await a.tp.close();

  const b = await open();
  const cached3 = await load(b.tp, true);
  assert.deepEqual(b.requests, [], 'a new page reads the cache');
  assert.deepEqual(cached3, plain1);
  // A named cache is separate.
  await load(b.tp, 'my-app-weights');
  assert.deepEqual(b.requests, ['/weights/tiny.json', '/weights/tiny.bin']);
  assert.deepEqual(await runInPage(b.tp, () => window.cachedUrls('my-app-weights'), undefined), ['/weights/tiny.bin', '/weights/tiny.json']);
  await b.tp.close();
});

test('a cache option that is not true, false or a name is a typed INVALID_ARGUMENT', async () => {
  const { tp } = await open();
  const r = await runInPage(tp, () => window.loadWeights({ cache: 3 as unknown as boolean }), undefined);
  assert.equal(r.code, 'INVALID_ARGUMENT');
  assert.match(r.error ?? '', /cache: expected true, false or a cache name, got 3/);
  await tp.close();
});
