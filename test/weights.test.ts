/**
 * Tests of the weight format: fp32 and fp16 round trips, packed buffers, loading from paths, file:
 * URLs and HTTP, the half-precision conversions, and every kind of damaged or foreign file.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AddressInfo } from 'node:net';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/core/backend.js';
import { PRESETS, paramSpecs } from '../src/core/config.js';
import { isSimpleIRError, type SimpleIRErrorCode } from '../src/core/errors.js';
import { Random } from '../src/core/random.js';
import { SimpleIR, initialWeights } from '../src/core/model/simpleir.js';
import { foldedTensorCount } from '../src/core/model/forward.js';
import {
  checksum,
  decodeWeights,
  encodeWeights,
  fromFloat16Bits,
  packWeights,
  toFloat16Bits,
  unpackWeights,
  type WeightFiles,
  type WeightManifest,
} from '../src/core/weights.js';

let dir: string;
let server: Server;
let baseUrl: string;
/** Files the test HTTP server serves, by path. */
const served = new Map<string, Uint8Array>();
let requests: string[] = [];

before(async () => {
  await selectBackend('wasm');
  dir = await mkdtemp(join(tmpdir(), 'simpleir-weights-'));
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const body = served.get(req.url ?? '');
    if (!body) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
    res.end(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

function hasCode(code: SimpleIRErrorCode, pattern?: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.ok(isSimpleIRError(e), `expected a SimpleIRError, got ${String(e)}`);
    assert.equal(e.code, code, `wrong code; message: ${e.message}`);
    if (pattern) assert.match(e.message, pattern);
    return true;
  };
}

function randomInput(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  const rng = new Random(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.next();
  return tf.tensor4d(v, shape);
}

function predictValues(model: SimpleIR, x: tf.Tensor4D): Float32Array {
  const y = model.predict(x);
  const v = y.dataSync() as Float32Array;
  y.dispose();
  return v;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Bit patterns of float32 values, so that comparisons are bitwise (-0 vs 0, NaN payloads). */
function bits(v: Float32Array): Uint32Array {
  return new Uint32Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
}

function assertSameWeights(a: ReadonlyMap<string, Float32Array>, b: ReadonlyMap<string, Float32Array>): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [name, v] of a) assert.deepEqual(bits(b.get(name)!), bits(v), `tensor ${name} differs`);
}

/** A random tiny model's weight files, fresh copies each call. */
function tinyFiles(options: { dtype?: 'float32' | 'float16'; weightsFile?: string; seed?: number } = {}): WeightFiles {
  const values = initialWeights(PRESETS.tiny, { init: 'random', seed: options.seed ?? 11 });
  return encodeWeights(PRESETS.tiny, values, { dtype: options.dtype, weightsFile: options.weightsFile });
}

/** A deep copy of a manifest, as a plain mutable object. */
function cloneManifest(m: WeightManifest): Record<string, unknown> & { tensors: Record<string, unknown>[] } {
  return JSON.parse(JSON.stringify(m));
}

describe('round trips', () => {
  test('fp32: toWeightFiles -> load({manifest, data}) gives bitwise equal weights and metadata', async () => {
    const model = SimpleIR.create('tiny', { init: 'random', seed: 3 });
    const files = model.toWeightFiles({ metadata: { trainedOn: 'rain', steps: 1600 } });
    assert.equal(files.manifest.dtype, 'float32');
    assert.equal(files.manifest.byteLength, files.data.length);
    assert.equal(files.manifest.checksum, checksum(files.data));
    const loaded = await SimpleIR.load({ manifest: files.manifest, data: files.data });
    assert.deepEqual(loaded.config, model.config);
    assertSameWeights(model.getWeights(), loaded.getWeights());
    assert.deepEqual(loaded.metadata, { trainedOn: 'rain', steps: 1600 });
    // The manifest as JSON text and the data as an ArrayBuffer are accepted too.
    const copy = files.data.slice();
    const again = await SimpleIR.load({ manifest: JSON.stringify(files.manifest), data: copy.buffer });
    assertSameWeights(model.getWeights(), again.getWeights());
    [model, loaded, again].forEach((m) => m.dispose());
  });

  test('fp32 round trip of base and a custom config', async () => {
    for (const config of [PRESETS.base, { width: 6, scale: 2, blocks: 0, iterations: 1, detailWidth: 3 }]) {
      const model = SimpleIR.create(config, { init: 'random', seed: 8 });
      const loaded = await SimpleIR.load(model.toPackedWeights());
      assert.deepEqual(loaded.config, model.config);
      assertSameWeights(model.getWeights(), loaded.getWeights());
      model.dispose();
      loaded.dispose();
    }
  });

  test('fp16: weights within half precision, outputs within 2/255, half the bytes', async () => {
    const model = SimpleIR.create('tiny', { init: 'random', seed: 4 });
    const f32 = model.toWeightFiles();
    const f16 = model.toWeightFiles({ dtype: 'float16' });
    assert.equal(f16.manifest.dtype, 'float16');
    assert.ok(f16.data.length < 0.55 * f32.data.length, `${f16.data.length} vs ${f32.data.length} bytes`);
    const loaded = await SimpleIR.load({ manifest: f16.manifest, data: f16.data });
    const a = model.getWeights();
    const b = loaded.getWeights();
    for (const [name, v] of a) {
      const w = b.get(name)!;
      for (let i = 0; i < v.length; i++) {
        const err = Math.abs(v[i]! - w[i]!);
        // Round to nearest: at most half an ulp, 2^-11 relative for normals, 2^-25 absolute for subnormals.
        assert.ok(err <= Math.max(2 ** -11 * Math.abs(v[i]!), 2 ** -25), `${name}[${i}]: ${v[i]} -> ${w[i]}`);
        assert.ok(err <= Math.max(1e-3 * Math.abs(v[i]!), 1e-4));
      }
    }
    const x = randomInput([1, 40, 52, 3], 5);
    const d = maxAbsDiff(predictValues(model, x), predictValues(loaded, x));
    assert.ok(d <= 2 / 255, `fp16 output differs by ${d * 255}/255`);
    // Re-encoding fp16 weights as fp16 is lossless.
    const again = loaded.toWeightFiles({ dtype: 'float16' });
    assert.deepEqual(again.data, f16.data);
    x.dispose();
    model.dispose();
    loaded.dispose();
  });

  test('packed: toPackedWeights() -> load(Uint8Array) and load(ArrayBuffer), fp32 and fp16', async () => {
    const model = SimpleIR.create('tiny', { init: 'random', seed: 5 });
    const packed = model.toPackedWeights({ metadata: { note: 'packed' } });
    assert.equal(String.fromCharCode(...packed.subarray(0, 4)), 'SIRW');
    const fromBytes = await SimpleIR.load(packed);
    assertSameWeights(model.getWeights(), fromBytes.getWeights());
    assert.deepEqual(fromBytes.metadata, { note: 'packed' });
    const buffer = packed.buffer.slice(packed.byteOffset, packed.byteOffset + packed.byteLength);
    assert.ok(buffer instanceof ArrayBuffer);
    const fromBuffer = await SimpleIR.load(buffer);
    assertSameWeights(model.getWeights(), fromBuffer.getWeights());
    // A view at an odd offset inside a larger buffer.
    const big = new Uint8Array(packed.length + 7);
    big.set(packed, 3);
    const fromView = await SimpleIR.load(big.subarray(3, 3 + packed.length));
    assertSameWeights(model.getWeights(), fromView.getWeights());
    const packed16 = model.toPackedWeights({ dtype: 'float16' });
    const from16 = await SimpleIR.load(packed16);
    assert.equal(unpackWeights(packed16).manifest.dtype, 'float16');
    const x = randomInput([1, 16, 24, 3], 6);
    assert.ok(maxAbsDiff(predictValues(model, x), predictValues(from16, x)) <= 2 / 255);
    x.dispose();
    [model, fromBytes, fromBuffer, fromView, from16].forEach((m) => m.dispose());
  });

  test('pack/unpack are inverse', () => {
    const files = tinyFiles();
    const un = unpackWeights(packWeights(files));
    assert.deepEqual(un.manifest, files.manifest);
    assert.deepEqual(un.data, files.data);
  });

  test('load leaves exactly the model\'s tensors behind', async () => {
    const before = tf.memory().numTensors;
    const m = await SimpleIR.load(packWeights(tinyFiles()));
    // The weights, and their folds (computed once per weight version).
    assert.equal(tf.memory().numTensors, before + paramSpecs(PRESETS.tiny).length + foldedTensorCount(PRESETS.tiny));
    m.dispose();
    assert.equal(tf.memory().numTensors, before);
  });
});

describe('loading from files and URLs', () => {
  let reference: Map<string, Float32Array>;
  let jsonPath: string;
  let sirwPath: string;
  before(async () => {
    const files = tinyFiles({ weightsFile: 'tiny-rain.bin', seed: 21 });
    reference = decodeWeights(files.manifest, files.data).tensors as Map<string, Float32Array>;
    jsonPath = join(dir, 'tiny-rain.json');
    sirwPath = join(dir, 'tiny-rain.sirw');
    await writeFile(jsonPath, JSON.stringify(files.manifest));
    await writeFile(join(dir, 'tiny-rain.bin'), files.data);
    await writeFile(sirwPath, packWeights(files));
    served.set('/w/tiny-rain.json', new TextEncoder().encode(JSON.stringify(files.manifest)));
    served.set('/w/tiny-rain.bin', files.data);
    served.set('/w/tiny-rain.sirw', packWeights(files));
    served.set('/broken/manifest.json', new TextEncoder().encode(JSON.stringify({ ...files.manifest, weightsFile: 'gone.bin' })));
  });

  test('a .json manifest path (the binary named by manifest.weightsFile, beside it)', async () => {
    const m = await SimpleIR.load(jsonPath);
    assertSameWeights(reference, m.getWeights());
    m.dispose();
  });

  test('a relative .json path', async () => {
    const m = await SimpleIR.load(relative(process.cwd(), jsonPath));
    assertSameWeights(reference, m.getWeights());
    m.dispose();
  });

  test('a packed .sirw path', async () => {
    const m = await SimpleIR.load(sirwPath);
    assertSameWeights(reference, m.getWeights());
    m.dispose();
  });

  test('a file: URL, as URL object and as string', async () => {
    const m1 = await SimpleIR.load(pathToFileURL(jsonPath));
    assertSameWeights(reference, m1.getWeights());
    const m2 = await SimpleIR.load(pathToFileURL(jsonPath).href);
    assertSameWeights(reference, m2.getWeights());
    const m3 = await SimpleIR.load(pathToFileURL(sirwPath));
    assertSameWeights(reference, m3.getWeights());
    [m1, m2, m3].forEach((m) => m.dispose());
  });

  test('an http URL through fetch: manifest then its binary, and a packed file', async () => {
    requests = [];
    const m1 = await SimpleIR.load(`${baseUrl}/w/tiny-rain.json`);
    assertSameWeights(reference, m1.getWeights());
    assert.deepEqual(requests, ['/w/tiny-rain.json', '/w/tiny-rain.bin']);
    const m2 = await SimpleIR.load(new URL(`${baseUrl}/w/tiny-rain.sirw`));
    assertSameWeights(reference, m2.getWeights());
    m1.dispose();
    m2.dispose();
  });

  test('a custom fetch is used when given', async () => {
    const seen: string[] = [];
    const myFetch: typeof fetch = (input, init) => {
      seen.push(String(input));
      return fetch(input, init);
    };
    const m = await SimpleIR.load(`${baseUrl}/w/tiny-rain.json`, { fetch: myFetch });
    assertSameWeights(reference, m.getWeights());
    assert.deepEqual(seen, [`${baseUrl}/w/tiny-rain.json`, `${baseUrl}/w/tiny-rain.bin`]);
    m.dispose();
  });

  test('a preset name resolved against weightsBaseUrl (folder and http)', async () => {
    const files = tinyFiles({ weightsFile: 'tiny.bin', seed: 22 });
    await writeFile(join(dir, 'tiny.json'), JSON.stringify(files.manifest));
    await writeFile(join(dir, 'tiny.bin'), files.data);
    served.set('/presets/tiny.json', new TextEncoder().encode(JSON.stringify(files.manifest)));
    served.set('/presets/tiny.bin', files.data);
    const expected = decodeWeights(files.manifest, files.data).tensors;
    const m1 = await SimpleIR.load('tiny', { weightsBaseUrl: dir });
    assertSameWeights(expected, m1.getWeights());
    const m2 = await SimpleIR.load('tiny', { weightsBaseUrl: `${baseUrl}/presets` });
    assertSameWeights(expected, m2.getWeights());
    m1.dispose();
    m2.dispose();
  });

  test('a missing file path gives WEIGHTS_NOT_FOUND naming it', async () => {
    const missing = join(dir, 'nope.json');
    await assert.rejects(SimpleIR.load(missing), hasCode('WEIGHTS_NOT_FOUND', /nope\.json/));
    await assert.rejects(SimpleIR.load(join(dir, 'nope.sirw')), hasCode('WEIGHTS_NOT_FOUND'));
    await assert.rejects(SimpleIR.load(pathToFileURL(missing)), hasCode('WEIGHTS_NOT_FOUND'));
  });

  test('a manifest whose binary is missing gives WEIGHTS_NOT_FOUND naming the binary', async () => {
    const files = tinyFiles({ weightsFile: 'lost.bin' });
    const p = join(dir, 'orphan.json');
    await writeFile(p, JSON.stringify(files.manifest));
    await assert.rejects(SimpleIR.load(p), hasCode('WEIGHTS_NOT_FOUND', /lost\.bin/));
  });

  test('HTTP 404 gives WEIGHTS_NOT_FOUND (manifest or binary)', async () => {
    await assert.rejects(SimpleIR.load(`${baseUrl}/w/missing.json`), hasCode('WEIGHTS_NOT_FOUND', /404/));
    await assert.rejects(SimpleIR.load(`${baseUrl}/broken/manifest.json`), hasCode('WEIGHTS_NOT_FOUND', /gone\.bin.*404/));
  });

  test('an unreachable server gives WEIGHTS_NOT_FOUND', async () => {
    // A port that was just free: listen, read the port, close.
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    await assert.rejects(SimpleIR.load(`http://127.0.0.1:${port}/w.json`), hasCode('WEIGHTS_NOT_FOUND'));
  });

  test('a bad source type gives INVALID_ARGUMENT', async () => {
    await assert.rejects(SimpleIR.load(42 as unknown as string), hasCode('INVALID_ARGUMENT'));
    await assert.rejects(SimpleIR.load(''), hasCode('INVALID_ARGUMENT'));
  });
});

describe('half precision conversions', () => {
  const known: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff],
    [65519, 0x7bff], // below the halfway point to 65536
    [65520, 0x7c00], // halfway: ties to even rounds up to infinity
    [1e5, 0x7c00],
    [-1e5, 0xfc00],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
    [1e-8, 0x0000], // under half the smallest subnormal: zero
    [-1e-8, 0x8000],
    [2 ** -25, 0x0000], // exactly half the smallest subnormal: ties to even (0)
    [1.5 * 2 ** -25, 0x0001], // above half: rounds up to the smallest subnormal
    [3 * 2 ** -25, 0x0002], // halfway between subnormals 1 and 2: ties to even (2)
    [5 * 2 ** -25, 0x0002], // halfway between 2 and 3: ties to even (2)
    [2 ** -14 - 2 ** -25, 0x0400], // halfway between the largest subnormal (odd) and the smallest normal: up
    [1 + 2 ** -11, 0x3c00], // halfway between 1 and the next: ties to even (down)
    [1 + 3 * 2 ** -11, 0x3c02], // halfway between 0x3c01 and 0x3c02: ties to even (up)
    [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above halfway: up
    [2 - 2 ** -11, 0x4000], // halfway below 2, odd mantissa: carries into the exponent
    [1 / 3, 0x3555],
    [0.1, 0x2e66],
  ];
  for (const [value, expected] of known) {
    test(`toFloat16Bits(${Object.is(value, -0) ? '-0' : value}) = 0x${expected.toString(16).padStart(4, '0')}`, () => {
      assert.equal(toFloat16Bits(value), expected);
    });
  }

  test('NaN encodes as a NaN and decodes as NaN', () => {
    const h = toFloat16Bits(NaN);
    assert.equal(h & 0x7c00, 0x7c00);
    assert.notEqual(h & 0x03ff, 0, 'non-zero mantissa');
    assert.ok(Number.isNaN(fromFloat16Bits(h)));
    assert.ok(Number.isNaN(fromFloat16Bits(0x7e00)));
    assert.ok(Number.isNaN(fromFloat16Bits(0xfc01)));
  });

  test('fromFloat16Bits on known values', () => {
    assert.equal(fromFloat16Bits(0x0000), 0);
    assert.ok(Object.is(fromFloat16Bits(0x8000), -0));
    assert.equal(fromFloat16Bits(0x3c00), 1);
    assert.equal(fromFloat16Bits(0xc000), -2);
    assert.equal(fromFloat16Bits(0x7bff), 65504);
    assert.equal(fromFloat16Bits(0x0001), 2 ** -24);
    assert.equal(fromFloat16Bits(0x03ff), 1023 * 2 ** -24);
    assert.equal(fromFloat16Bits(0x0400), 2 ** -14);
    assert.equal(fromFloat16Bits(0x3555), 0.333251953125);
    assert.equal(fromFloat16Bits(0x7c00), Infinity);
    assert.equal(fromFloat16Bits(0xfc00), -Infinity);
  });

  test('every non-NaN half value survives from -> to exactly; rounding is to the nearest', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = fromFloat16Bits(h);
      if (Number.isNaN(v)) continue;
      assert.equal(toFloat16Bits(v), h, `0x${h.toString(16)}`);
    }
    // Random float32 values land on one of their two half neighbours, the nearer one.
    const rng = new Random(1);
    const f = new Float32Array(1);
    for (let i = 0; i < 20000; i++) {
      f[0] = (rng.next() - 0.5) * 2 ** rng.int(-26, 17);
      const v = f[0]!;
      const h = toFloat16Bits(v);
      const back = fromFloat16Bits(h);
      const err = Math.abs(back - v);
      for (const d of [-1, 1]) {
        const mag = (h & 0x7fff) + d;
        if (mag < 0 || mag >= 0x7c00) continue;
        const neighbour = fromFloat16Bits((h & 0x8000) | mag);
        assert.ok(err <= Math.abs(neighbour - v), `${v} -> ${back}, but ${neighbour} is nearer`);
      }
      assert.ok(err <= Math.max(Math.abs(v) * 2 ** -11, 2 ** -25) || Math.abs(v) > 65504, `${v} -> ${back}`);
    }
  });
});

describe('damaged and foreign files', () => {
  test('truncated binary: WEIGHTS_INVALID, message gives the byte counts', async () => {
    const files = tinyFiles();
    const data = files.data.subarray(0, files.data.length - 10);
    await assert.rejects(SimpleIR.load({ manifest: files.manifest, data }), hasCode('WEIGHTS_INVALID', new RegExp(`${data.length} bytes.*${files.data.length}`)));
  });

  test('packed buffer cut inside the binary: WEIGHTS_INVALID (bytes)', async () => {
    const packed = packWeights(tinyFiles());
    await assert.rejects(SimpleIR.load(packed.subarray(0, packed.length - 100)), hasCode('WEIGHTS_INVALID', /bytes/));
  });

  test('one flipped byte: checksum mismatch, WEIGHTS_INVALID', async () => {
    const files = tinyFiles();
    const data = files.data.slice();
    data[1234] = data[1234]! ^ 0x40;
    await assert.rejects(SimpleIR.load({ manifest: files.manifest, data }), hasCode('WEIGHTS_INVALID', /checksum/i));
    const packed = packWeights(files);
    packed[packed.length - 3] = packed[packed.length - 3]! ^ 0x01;
    await assert.rejects(SimpleIR.load(packed), hasCode('WEIGHTS_INVALID', /checksum/i));
  });

  test('manifest of the wrong format: WEIGHTS_INVALID naming "format"', async () => {
    const files = tinyFiles();
    const m = cloneManifest(files.manifest);
    m.format = 'tfjs-layers-model';
    await assert.rejects(SimpleIR.load({ manifest: JSON.stringify(m), data: files.data }), hasCode('WEIGHTS_INVALID', /format/));
    // A tfjs model.json is not a SimpleIR manifest either.
    await assert.rejects(
      SimpleIR.load({ manifest: JSON.stringify({ modelTopology: {}, weightsManifest: [] }), data: files.data }),
      hasCode('WEIGHTS_INVALID', /format/),
    );
  });

  test('manifest of an unsupported version: WEIGHTS_INVALID naming the version', async () => {
    const files = tinyFiles();
    const m = cloneManifest(files.manifest);
    m.version = 2;
    await assert.rejects(SimpleIR.load({ manifest: JSON.stringify(m), data: files.data }), hasCode('WEIGHTS_INVALID', /version 2/));
  });

  test('manifest that is not JSON: WEIGHTS_INVALID (JSON), as text, as a file and inside a packed buffer', async () => {
    const files = tinyFiles();
    await assert.rejects(SimpleIR.load({ manifest: '{"format": "simpleir-weights", ', data: files.data }), hasCode('WEIGHTS_INVALID', /JSON/));
    const p = join(dir, 'garbage.json');
    await writeFile(p, 'this is not json');
    await assert.rejects(SimpleIR.load(p), hasCode('WEIGHTS_INVALID', /JSON/));
    const packed = packWeights(files);
    packed[12] = 0x21; // '!' where the manifest's '{' was
    await assert.rejects(SimpleIR.load(packed), hasCode('WEIGHTS_INVALID', /JSON/));
  });

  test('manifest with a bad config: WEIGHTS_INVALID naming the field', async () => {
    const files = tinyFiles();
    const m = cloneManifest(files.manifest);
    (m.config as Record<string, unknown>).width = 15;
    await assert.rejects(SimpleIR.load({ manifest: JSON.stringify(m), data: files.data }), hasCode('WEIGHTS_INVALID', /width/));
  });

  test('missing tensor: WEIGHTS_MISMATCH naming it', async () => {
    const files = tinyFiles();
    const m = cloneManifest(files.manifest);
    m.tensors = m.tensors.filter((t) => t.name !== 'hab1.sa.w');
    await assert.rejects(SimpleIR.load({ manifest: JSON.stringify(m), data: files.data }), hasCode('WEIGHTS_MISMATCH', /hab1\.sa\.w/));
  });

  test('wrong shape: WEIGHTS_MISMATCH naming the tensor and both shapes', async () => {
    const files = tinyFiles();
    const m = cloneManifest(files.manifest);
    const entry = m.tensors.find((t) => t.name === 'hab0.pw1.w')!;
    entry.shape = [1, 1, 32, 16]; // same size, transposed
    await assert.rejects(SimpleIR.load({ manifest: JSON.stringify(m), data: files.data }), hasCode('WEIGHTS_MISMATCH', /hab0\.pw1\.w.*\[1,1,32,16\].*\[1,1,16,32\]/));
  });

  test("another preset's config with tiny's binary: WEIGHTS_MISMATCH", async () => {
    const files = tinyFiles();
    const m = cloneManifest(files.manifest);
    m.config = { ...PRESETS.base };
    await assert.rejects(SimpleIR.load({ manifest: JSON.stringify(m), data: files.data }), hasCode('WEIGHTS_MISMATCH'));
    // And the other way round: tiny's config, iterations removed (its FIB tensors become extra).
    const m2 = cloneManifest(files.manifest);
    m2.config = { ...PRESETS.tiny, iterations: 0 };
    await assert.rejects(SimpleIR.load({ manifest: JSON.stringify(m2), data: files.data }), hasCode('WEIGHTS_MISMATCH', /fib\./));
  });

  test('extra tensors: WEIGHTS_MISMATCH naming them', async () => {
    const files = tinyFiles();
    const m = cloneManifest(files.manifest);
    m.tensors.push({ name: 'extra.w', shape: [4], dtype: 'float32', offset: 0, byteLength: 16 });
    await assert.rejects(SimpleIR.load({ manifest: JSON.stringify(m), data: files.data }), hasCode('WEIGHTS_MISMATCH', /extra\.w/));
  });

  test('impossible byte ranges: WEIGHTS_INVALID naming the tensor', async () => {
    const files = tinyFiles();
    for (const change of [
      (e: Record<string, unknown>) => (e.offset = files.data.length - 4),
      (e: Record<string, unknown>) => (e.offset = -4),
      (e: Record<string, unknown>) => (e.byteLength = (e.byteLength as number) - 4),
      (e: Record<string, unknown>) => (e.offset = 1),
    ]) {
      const m = cloneManifest(files.manifest);
      change(m.tensors.find((t) => t.name === 'tail.w')!);
      await assert.rejects(SimpleIR.load({ manifest: JSON.stringify(m), data: files.data }), hasCode('WEIGHTS_INVALID', /tail\.w/));
    }
  });

  test('a manifest lacking fields: WEIGHTS_INVALID', async () => {
    const files = tinyFiles();
    for (const field of ['tensors', 'checksum', 'byteLength', 'dtype', 'config']) {
      const m = cloneManifest(files.manifest);
      delete m[field];
      await assert.rejects(SimpleIR.load({ manifest: JSON.stringify(m), data: files.data }), hasCode('WEIGHTS_INVALID'), field);
    }
    await assert.rejects(SimpleIR.load({ manifest: '[1, 2]', data: files.data }), hasCode('WEIGHTS_INVALID'));
    await assert.rejects(SimpleIR.load({ manifest: 'null', data: files.data }), hasCode('WEIGHTS_INVALID'));
  });

  for (const dtype of ['float32', 'float16'] as const) {
    test(`NaN or infinity inside the weights (${dtype}): NON_FINITE naming the tensor`, async () => {
      for (const bad of [NaN, Infinity, -Infinity]) {
        const values = initialWeights(PRESETS.tiny, { init: 'random', seed: 2 });
        values.get('hab1.ffn1.w')![17] = bad;
        const files = encodeWeights(PRESETS.tiny, values, { dtype });
        await assert.rejects(SimpleIR.load({ manifest: files.manifest, data: files.data }), hasCode('NON_FINITE', /hab1\.ffn1\.w.*17/));
      }
    });
  }

  test('fp32 values beyond the half range become infinite in fp16 and are caught on load', async () => {
    const values = initialWeights(PRESETS.tiny, { init: 'random', seed: 2 });
    values.get('head.b')![0] = 1e6;
    const files = encodeWeights(PRESETS.tiny, values, { dtype: 'float16' });
    await assert.rejects(SimpleIR.load(packWeights(files)), hasCode('NON_FINITE', /head\.b/));
  });

  test('packed buffer cut in the header: WEIGHTS_INVALID', async () => {
    const packed = packWeights(tinyFiles());
    for (const n of [0, 2, 4, 8, 11]) {
      await assert.rejects(SimpleIR.load(packed.slice(0, n)), hasCode('WEIGHTS_INVALID'), `cut at ${n}`);
    }
    await assert.rejects(SimpleIR.load(packed.slice(0, 8)), hasCode('WEIGHTS_INVALID', /truncated/));
    // Cut inside the manifest JSON.
    await assert.rejects(SimpleIR.load(packed.slice(0, 60)), hasCode('WEIGHTS_INVALID', /truncated/));
  });

  test('packed buffer with a foreign magic or container version: WEIGHTS_INVALID', async () => {
    const packed = packWeights(tinyFiles());
    const wrongMagic = packed.slice();
    wrongMagic[0] = 0x50;
    await assert.rejects(SimpleIR.load(wrongMagic), hasCode('WEIGHTS_INVALID', /SIRW/));
    const wrongVersion = packed.slice();
    wrongVersion[4] = 9;
    await assert.rejects(SimpleIR.load(wrongVersion), hasCode('WEIGHTS_INVALID', /version 9/));
    await assert.rejects(SimpleIR.load(new TextEncoder().encode(JSON.stringify(tinyFiles().manifest))), hasCode('WEIGHTS_INVALID'));
  });

  test('a damaged file on disk reports the same error as the buffer', async () => {
    const files = tinyFiles({ weightsFile: 'cut.bin' });
    await writeFile(join(dir, 'cut.json'), JSON.stringify(files.manifest));
    await writeFile(join(dir, 'cut.bin'), files.data.subarray(0, 1000));
    await assert.rejects(SimpleIR.load(join(dir, 'cut.json')), hasCode('WEIGHTS_INVALID', /1000 bytes/));
  });

  test('failed loads leave no tensors behind', async () => {
    const before = tf.memory().numTensors;
    const values = initialWeights(PRESETS.tiny, { init: 'random', seed: 2 });
    values.get('ldam.out.b')![2] = NaN;
    await assert.rejects(SimpleIR.load(packWeights(encodeWeights(PRESETS.tiny, values))));
    assert.equal(tf.memory().numTensors, before);
  });

  test('encodeWeights refuses tensors that do not fit the config (WEIGHTS_MISMATCH)', () => {
    const values = initialWeights(PRESETS.tiny);
    values.delete('head.w');
    assert.throws(() => encodeWeights(PRESETS.tiny, values), hasCode('WEIGHTS_MISMATCH', /head\.w/));
    assert.throws(() => encodeWeights(PRESETS.base, initialWeights(PRESETS.tiny)), hasCode('WEIGHTS_MISMATCH'));
  });
});
