/** The static server used by browser tests and `npm start` (scripts/serve.ts); no browser needed. */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startServer, type StaticServer } from '../scripts/serve';

let dir: string;
let server: StaticServer;

/** A raw GET (fetch would normalize `..` away before sending). */
function get(path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'simpleir-serve-'));
  await mkdir(join(dir, 'root/sub'), { recursive: true });
  await mkdir(join(dir, 'extra'), { recursive: true });
  await writeFile(join(dir, 'root/index.html'), '<!doctype html><title>i</title>');
  await writeFile(join(dir, 'root/sub/a.js'), 'export {}');
  await writeFile(join(dir, 'root/m.json'), '{}');
  await writeFile(join(dir, 'extra/x.wasm'), Buffer.from([0, 97, 115, 109]));
  await writeFile(join(dir, 'extra/w.bin'), Buffer.from([1, 2, 3]));
  await writeFile(join(dir, 'secret.txt'), 'secret');
  server = await startServer({ root: join(dir, 'root'), routes: { '/wasm/': join(dir, 'extra') } });
});

after(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

test('listens on 127.0.0.1 with an ephemeral port', () => {
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(server.port > 0);
});

test('serves files with content types and cross-origin isolation headers', async () => {
  const cases: Array<[string, string]> = [
    ['/', 'text/html; charset=utf-8'],
    ['/index.html', 'text/html; charset=utf-8'],
    ['/sub/a.js', 'text/javascript; charset=utf-8'],
    ['/m.json', 'application/json; charset=utf-8'],
    ['/wasm/x.wasm', 'application/wasm'],
    ['/wasm/w.bin', 'application/octet-stream'],
  ];
  for (const [path, type] of cases) {
    const res = await get(path);
    assert.equal(res.status, 200, path);
    assert.equal(res.headers['content-type'], type, path);
    assert.equal(res.headers['cross-origin-opener-policy'], 'same-origin');
    assert.equal(res.headers['cross-origin-embedder-policy'], 'require-corp');
    assert.equal(res.headers['cross-origin-resource-policy'], 'same-origin');
  }
  assert.deepEqual([...(await get('/wasm/x.wasm')).body], [0, 97, 115, 109]);
  const head = await get('/wasm/w.bin', 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], '3');
  assert.equal(head.body.length, 0);
});

test('404 for missing files, and nothing outside the roots', async () => {
  for (const path of ['/missing.js', '/../secret.txt', '/%2e%2e/secret.txt', '/sub/..%2f..%2fsecret.txt', '/wasm/..%2f..%2fsecret.txt', '/wasm/../../secret.txt']) {
    const res = await get(path);
    assert.equal(res.status, 404, path);
    assert.ok(!res.body.toString().includes('secret'), path);
  }
  assert.equal((await get('/sub')).status, 301);
  assert.equal((await get('/x', 'POST')).status, 405);
});
