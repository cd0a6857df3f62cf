/**
 * Backend readiness and the automatic choice in Node, each case in a fresh process (tfjs's backend is
 * global state): `SimpleIR.load` works without `selectBackend()` and picks one by measurement; a
 * choice the app made (`selectBackend(name)` or `tf.setBackend`) wins; the measured choice is cached.
 * The browser side (a software WebGPU adapter rejected, localStorage) is test/browser/backend.test.ts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
let dir: string;

before(async () => {
  // Inside the repository (git-ignored .scratch/) so that the scripts resolve its node_modules as ES modules.
  await mkdir(join(root, '.scratch'), { recursive: true });
  dir = await mkdtemp(join(root, '.scratch', 'backend-test-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs `body` (TypeScript, top-level await) in a new Node process; returns what it printed as its last JSON line. */
async function inFreshProcess<T>(name: string, body: string): Promise<T> {
  const file = join(dir, `${name}.mts`);
  const src = (p: string): string => JSON.stringify(join(root, p));
  await writeFile(
    file,
    `import * as tf from '@tensorflow/tfjs';
import { SimpleIR } from ${src('src/core/model/simpleir.ts')};
import { selectBackend, backendReady } from ${src('src/core/backend.ts')};
void tf; void SimpleIR; void selectBackend; void backendReady;
const out = await (async () => { ${body} })();
console.log(JSON.stringify(out));
`,
  );
  const stdout = await new Promise<string>((res, rej) => {
    execFile(process.execPath, ['--import', 'tsx', file], { cwd: root, timeout: 120_000 }, (error, out, err) => {
      if (error) rej(new Error(`${name} failed: ${error.message}\n${err}`));
      else res(out);
    });
  });
  const last = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as T;
}

/** Restores a 16x16 gradient with the loaded model: the bytes and the backend that ran it. */
const RESTORE = `
  const model = await SimpleIR.load('tiny');
  const data = new Uint8ClampedArray(16 * 16 * 3).map((_, i) => (i * 7) % 256);
  const y = await model.restore({ data, width: 16, height: 16, channels: 3 });
  const backend = tf.getBackend();
  model.dispose();
  return { backend, bytes: y.data.length, changed: y.data.some((v, i) => v !== data[i]), tensors: tf.memory().numTensors };`;

test('SimpleIR.load without selectBackend(): selects a backend by measurement (wasm in Node) and restores', async () => {
  const r = await inFreshProcess<{ backend: string; bytes: number; changed: boolean; tensors: number }>('load-auto', RESTORE);
  assert.equal(r.backend, 'wasm');
  assert.equal(r.bytes, 16 * 16 * 3);
  assert.ok(r.changed, 'the trained tiny weights changed nothing: the model did not run');
  assert.equal(r.tensors, 0, 'tensors left after dispose (the probe or the model leaked)');
});

test('an explicit choice wins: selectBackend("cpu") and tf.setBackend("cpu") before load keep cpu', async () => {
  const viaSdk = await inFreshProcess<{ backend: string }>('load-select-cpu', `await selectBackend('cpu');${RESTORE}`);
  assert.equal(viaSdk.backend, 'cpu');
  // tf.setBackend not awaited: load waits for it rather than choosing another.
  const viaTf = await inFreshProcess<{ backend: string }>('load-tf-cpu', `void tf.setBackend('cpu');${RESTORE}`);
  assert.equal(viaTf.backend, 'cpu');
  const viaTfWasm = await inFreshProcess<{ backend: string }>('load-tf-wasm', `void tf.setBackend('wasm');${RESTORE}`);
  assert.equal(viaTfWasm.backend, 'wasm');
});

test('selectBackend(): reports the measurement, and a second call reuses it without measuring', async () => {
  type Info = { name: string; skipped: { name: string; reason: string }[]; probe?: { cached: boolean; elapsedMs: number; width: number; height: number; frameWidth: number; timings: { name: string; ms: number | null; passes: number }[] } };
  const r = await inFreshProcess<{ first: Info; second: Info; third: Info; tensors: number }>(
    'probe-cache',
    `const first = await selectBackend();
     const second = await selectBackend();
     const third = await selectBackend('auto', { cache: false, probe: { preset: 'tiny', width: 320, height: 180 } });
     return { first, second, third, tensors: tf.memory().numTensors };`,
  );
  console.log(`# first: ${JSON.stringify(r.first.probe)}; skipped ${JSON.stringify(r.first.skipped)}`);
  assert.equal(r.first.name, 'wasm');
  const p = r.first.probe!;
  assert.equal(p.cached, false);
  assert.deepEqual([p.frameWidth, p.width, p.height], [640, 164, 92], '640x360 is measured at 164x92 (same aspect, multiples of 4, at most 160x96 pixels)');
  const wasm = p.timings.find((t) => t.name === 'wasm')!;
  assert.ok(wasm.ms !== null && wasm.ms > 0 && wasm.passes >= 1, `wasm was not timed: ${JSON.stringify(wasm)}`);
  // webgl is registered but cannot start in Node: passed over with the reason.
  assert.match(r.first.skipped.find((s) => s.name === 'webgl')?.reason ?? '', /initialisation failed|not registered/);
  assert.match(r.first.skipped.find((s) => s.name === 'webgpu')?.reason ?? '', /navigator\.gpu is missing/);
  // The second call: the same choice from the cache, nothing run, the same timings.
  assert.equal(r.second.name, 'wasm');
  assert.equal(r.second.probe?.cached, true);
  assert.equal(r.second.probe?.elapsedMs, 0);
  assert.deepEqual(r.second.probe?.timings, p.timings);
  // cache: false measures again.
  assert.equal(r.third.probe?.cached, false);
  assert.equal(r.third.probe?.frameWidth, 320);
  assert.equal(r.tensors, 0, 'the probe left tensors behind');
});

test('wasmThreads: a count outside 1..8 is refused; in Node wasm runs on one thread and a count above 1 says why', async () => {
  type Info = { name: string; wasmThreads?: number; warnings: string[] };
  const r = await inFreshProcess<{ refused: string[]; info: Info; heard: string[] }>(
    'wasm-threads',
    `const refused = [];
     for (const bad of [0, 9, 1.5, 'two', null]) {
       try { await selectBackend('wasm', { wasmThreads: bad as never }); refused.push('accepted ' + String(bad)); }
       catch (e) { refused.push((e as { code?: string }).code + ': ' + (e as Error).message); }
     }
     const heard: string[] = [];
     const info = await selectBackend('wasm', { wasmThreads: 2, onWarning: (m) => heard.push(m) });
     return { refused, info, heard };`,
  );
  assert.equal(r.refused.length, 5);
  for (const m of r.refused) assert.match(m, /^INVALID_ARGUMENT: selectBackend: wasmThreads must be 'auto' or a whole number of threads from 1 to 8/);
  assert.equal(r.info.name, 'wasm');
  assert.equal(r.info.wasmThreads, 1);
  assert.deepEqual(r.heard, ["wasm runs on 1 thread, not the 2 asked (wasmThreads): tfjs runs wasm on one thread in Node."]);
  assert.deepEqual(r.info.warnings, r.heard);
});
