/** The `cache` option of `SimpleIR.load` in Node, which has no Cache API: a typed error, before any request. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSimpleIRError, selectBackend, SimpleIR } from '../src/index';

test('cache: true for a URL in Node is INVALID_ARGUMENT saying there is no Cache API, and nothing is fetched', async () => {
  const fetched: string[] = [];
  const fetchSpy = (async (url: string) => {
    fetched.push(url);
    return new Response('', { status: 500 });
  }) as unknown as typeof fetch;
  await assert.rejects(SimpleIR.load('tiny', { weightsBaseUrl: 'http://127.0.0.1:9/w/', cache: true, fetch: fetchSpy }), (e: unknown) => {
    assert.ok(isSimpleIRError(e, 'INVALID_ARGUMENT'), String(e));
    assert.match(e.message, /no Cache API/);
    assert.match(e.message, /http:\/\/127\.0\.0\.1:9\/w\/tiny\.json/);
    return true;
  });
  assert.deepEqual(fetched, []);
  // Without the option the same load reaches fetch (and fails on its answer).
  await assert.rejects(SimpleIR.load('tiny', { weightsBaseUrl: 'http://127.0.0.1:9/w/', fetch: fetchSpy }), (e: unknown) => isSimpleIRError(e, 'WEIGHTS_NOT_FOUND'));
  assert.deepEqual(fetched, ['http://127.0.0.1:9/w/tiny.json']);
});

test('the built-in presets ignore cache (no request, nothing to keep)', async () => {
  await selectBackend('cpu');
  const model = await SimpleIR.load('tiny', { cache: true });
  assert.equal(model.paramCount, 22356);
  model.dispose();
});
