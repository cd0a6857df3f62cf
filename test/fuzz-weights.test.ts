/**
 * Reliability: mutated weight files through the weight loader (`SimpleIR.load`): 1200 manifest +
 * binary pairs (given as objects, as JSON text, or as files on disk) and 1200 packed `.sirw` files
 * (as buffers or files). The mutations reach past the checksum: some damage the binary and then
 * fix the manifest's checksum and size, so that the loader's later checks (names, shapes, byte
 * ranges, finiteness) are exercised too. Every input must load (a harmless mutation) or fail with a
 * weight error code, within 5 s, and leave no tensors behind.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SimpleIR } from '../src/core/model/simpleir.js';
import type { Random } from '../src/core/random.js';
import { checksum, packWeights, type WeightFiles, type WeightManifest } from '../src/core/weights.js';
import { failureLines, fuzz, summary } from './helpers/fuzz.js';
import { flipBits, mutateBytes, mutateJson, overwriteRun, type Mutant } from './helpers/mutate.js';
import { tf, useBackend } from './helpers/tf.js';

const CODES = ['WEIGHTS_INVALID', 'WEIGHTS_MISMATCH', 'NON_FINITE', 'WEIGHTS_NOT_FOUND'];

let dir: string;
let bases: WeightFiles[];

before(async () => {
  await useBackend('wasm');
  dir = await mkdtemp(join(tmpdir(), 'simpleir-fuzz-weights-'));
  const model = SimpleIR.create('tiny', { init: 'random', seed: 3 });
  bases = [model.toWeightFiles({ dtype: 'float32' }), model.toWeightFiles({ dtype: 'float16', metadata: { note: 'fuzz base', steps: [1, 2] } })];
  model.dispose();
  await decodeBases();
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Binary damage; with `fix`, the manifest's byte length and checksum are made to match again. */
function damageData(files: { manifest: unknown; data: Uint8Array }, rng: Random, fix: boolean): { manifest: unknown; data: Uint8Array } {
  const how = rng.int(0, 3);
  let data: Uint8Array;
  if (how === 0) data = flipBits(files.data, rng);
  else if (how === 1) data = overwriteRun(files.data, rng);
  else if (how === 2) data = files.data.slice(0, rng.int(0, files.data.length));
  else data = mutateBytes(files.data, rng).bytes;
  if (!fix || typeof files.manifest !== 'object' || files.manifest === null) return { manifest: files.manifest, data };
  return { manifest: { ...(files.manifest as WeightManifest), byteLength: data.length, checksum: checksum(data) }, data };
}

/** A manifest + binary pair, encoded as one buffer for the fuzz loop: u32 manifest length, manifest text, binary. */
function encodePair(manifestText: string, data: Uint8Array, tag: string): Mutant {
  const json = enc.encode(manifestText);
  const bytes = new Uint8Array(4 + json.length + data.length);
  new DataView(bytes.buffer).setUint32(0, json.length, true);
  bytes.set(json, 4);
  bytes.set(data, 4 + json.length);
  return { bytes, kind: tag };
}

function decodePair(bytes: Uint8Array): { text: string; data: Uint8Array } {
  const n = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  return { text: dec.decode(bytes.subarray(4, 4 + n)), data: bytes.subarray(4 + n) };
}

function mutatePair(rng: Random, i: number): Mutant {
  const base = bases[i % bases.length]!;
  const r = rng.next();
  if (r < 0.35) {
    const { value, kind } = mutateJson(base.manifest, rng);
    return encodePair(JSON.stringify(value), base.data, `manifest-${kind}`);
  }
  if (r < 0.5) {
    const { bytes, kind } = mutateBytes(enc.encode(JSON.stringify(base.manifest)), rng);
    return encodePair(dec.decode(bytes), base.data, `manifest-text-${kind}`);
  }
  if (r < 0.6) {
    const d = damageData(base, rng, false);
    return encodePair(JSON.stringify(d.manifest), d.data, 'data');
  }
  if (r < 0.85) {
    const d = damageData(base, rng, true);
    return encodePair(JSON.stringify(d.manifest), d.data, 'data-checksum-fixed');
  }
  const d = damageData({ manifest: mutateJson(base.manifest, rng).value, data: base.data }, rng, true);
  return encodePair(JSON.stringify(d.manifest), d.data, 'manifest-and-data');
}

/**
 * The packed container (docs/weights.md) around any manifest value, as a damaged writer would make it
 * (packWeights itself refuses a manifest that is not an object).
 */
function packRaw(manifest: unknown, data: Uint8Array): Uint8Array {
  const json = enc.encode(JSON.stringify(manifest) ?? 'undefined');
  const start = Math.ceil((12 + json.length) / 8) * 8;
  const out = new Uint8Array(start + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x57524953, true);
  view.setUint32(4, 1, true);
  view.setUint32(8, json.length, true);
  out.set(json, 12);
  out.set(data, start);
  return out;
}

function mutatePacked(rng: Random, i: number): Mutant {
  const base = bases[i % bases.length]!;
  const packed = packWeights(base);
  const r = rng.next();
  if (r < 0.3) {
    const m = mutateBytes(packed, rng);
    return { bytes: m.bytes, kind: `packed-${m.kind}` };
  }
  if (r < 0.45) {
    const out = packed.slice();
    const field = rng.pick([0, 4, 8]);
    const json = new DataView(packed.buffer).getUint32(8, true);
    const value = rng.pick([0, 1, 2, 0x57524953, 0xffffffff, 0x7fffffff, json - 1, json + 1, json + 8, json * 2, packed.length, packed.length - 12]);
    new DataView(out.buffer).setUint32(field, value >>> 0, true);
    return { bytes: out, kind: 'packed-header' };
  }
  if (r < 0.75) {
    const { value, kind } = mutateJson(base.manifest, rng);
    return { bytes: packRaw(value, base.data), kind: `packed-manifest-${kind}` };
  }
  const d = damageData(base, rng, true);
  return { bytes: packRaw(d.manifest, d.data), kind: 'packed-data-checksum-fixed' };
}

/** The weights of each base as the loader decodes them (fp16 rounded). */
let expected: Map<string, Float32Array>[];

async function decodeBases(): Promise<void> {
  expected = [];
  for (const base of bases) {
    const m = await SimpleIR.load(base);
    expected.push(m.getWeights());
    m.dispose();
  }
}

/** Mutations that change the binary on purpose (the checksum made to match): any finite weights may load. */
const CHANGES_DATA = /data-checksum-fixed|manifest-and-data/;

/**
 * Loads, checks and disposes. A load that succeeds although only the manifest or the container was
 * damaged must give exactly the original weights: anything else is a damaged file decoded silently.
 */
async function loadAndDispose(source: Parameters<typeof SimpleIR.load>[0], kind: string, index: number): Promise<void> {
  const model = await SimpleIR.load(source);
  try {
    if (CHANGES_DATA.test(kind)) return;
    const want = expected[index % expected.length]!;
    for (const [name, values] of model.getWeights()) {
      const w = want.get(name)!;
      for (let i = 0; i < values.length; i++) {
        if (!Object.is(values[i], w[i])) throw new Error(`silently wrong weights: ${name}[${i}] is ${values[i]}, the file holds ${w[i]}`);
      }
    }
  } finally {
    model.dispose();
  }
}

test('fuzz: 1200 mutated manifest + binary pairs through SimpleIR.load: loaded or a typed weight error', async () => {
  const tensors = tf.memory().numTensors;
  const report = await fuzz({
    name: 'weights, manifest + binary (SimpleIR.load)',
    count: 1200,
    seed: 71_000,
    codes: CODES,
    mutate: mutatePair,
    exercise: async (input, rng, index) => {
      const { text, data } = decodePair(input.bytes);
      const how = rng.int(0, 3);
      if (how === 0) {
        // Files on disk: the manifest names its binary, which sits beside it as the base named it.
        const sub = await mkdtemp(join(dir, 'pair-'));
        await writeFile(join(sub, 'weights.bin'), data);
        await writeFile(join(sub, 'model.json'), text);
        try {
          await loadAndDispose(join(sub, 'model.json'), input.kind, index);
        } finally {
          await rm(sub, { recursive: true, force: true });
        }
      } else if (how === 1) {
        await loadAndDispose({ manifest: text, data }, input.kind, index);
      } else {
        let manifest: WeightManifest;
        try {
          manifest = JSON.parse(text) as WeightManifest;
        } catch {
          // Text that is not JSON can only be given as text.
          return loadAndDispose({ manifest: text, data: data.slice().buffer }, input.kind, index);
        }
        await loadAndDispose({ manifest, data: how === 2 ? data : data.slice().buffer }, input.kind, index);
      }
    },
  });
  console.log(`# ${summary(report)}`);
  console.log(`# pair mutation kinds: ${JSON.stringify(report.kinds)}`);
  assert.equal(report.failures.length, 0, `fuzz failures:\n${failureLines(report)}`);
  assert.equal(tf.memory().numTensors, tensors, 'loads that failed or were disposed left tensors behind');
  assert.ok(report.decoded > 0 && (report.codes.NON_FINITE ?? 0) > 0, 'the mutants should reach both a successful load and the finiteness check');
});

test('fuzz: 1200 mutated packed .sirw files through SimpleIR.load: loaded or a typed weight error', async () => {
  const tensors = tf.memory().numTensors;
  const report = await fuzz({
    name: 'weights, packed .sirw (SimpleIR.load)',
    count: 1200,
    seed: 72_000,
    codes: CODES,
    mutate: mutatePacked,
    exercise: async (input, rng, index) => {
      const how = rng.int(0, 3);
      if (how === 0) {
        const file = join(dir, `fuzz-${rng.int(0, 1e9)}.sirw`);
        await writeFile(file, input.bytes);
        try {
          await loadAndDispose(file, input.kind, index);
        } finally {
          await rm(file, { force: true });
        }
      } else if (how === 1) {
        await loadAndDispose(input.bytes.slice().buffer, input.kind, index);
      } else {
        await loadAndDispose(input.bytes, input.kind, index);
      }
    },
  });
  console.log(`# ${summary(report)}`);
  console.log(`# packed mutation kinds: ${JSON.stringify(report.kinds)}`);
  assert.equal(report.failures.length, 0, `fuzz failures:\n${failureLines(report)}`);
  assert.equal(tf.memory().numTensors, tensors, 'loads that failed or were disposed left tensors behind');
  assert.ok(report.decoded > 0, 'some mutants should still load');
});
