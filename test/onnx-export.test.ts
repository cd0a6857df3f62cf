/**
 * The ONNX exports of the shipped presets (weights/<preset>.onnx, `npm run export-onnx`): each records
 * its preset, config and the SHA-256 of the weight binary it was exported from, and that hash must be
 * the shipped binary's, so changed weights without a re-export fail here. A stale export is refused at
 * load (`readPresetOnnx`: WEIGHTS_MISMATCH naming the command).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { PRESETS } from '../src/core/config.js';
import { onnxMetadata, onnxWeightsDir, readPresetOnnx, sha256, WEIGHTS_SHA256_KEY } from '../src/adapters/node/onnx-file.js';

const root = resolve(import.meta.dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'onnx-export-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** One metadata_props entry as protobuf bytes (ModelProto field 14), as scripts/export-onnx.py appends them. */
function entry(key: string, value: string): Buffer {
  const ld = (field: number, payload: Buffer): Buffer => Buffer.concat([Buffer.from([(field << 3) | 2, payload.length]), payload]);
  return ld(14, Buffer.concat([ld(1, Buffer.from(key)), ld(2, Buffer.from(value))]));
}

for (const preset of ['tiny', 'base'] as const) {
  test(`weights/${preset}.onnx holds the shipped ${preset} weights (re-run npm run export-onnx after the weights change)`, () => {
    const bytes = readFileSync(join(root, 'weights', `${preset}.onnx`));
    const meta = onnxMetadata(bytes);
    assert.equal(meta.get('simpleir.preset'), preset);
    assert.deepEqual(JSON.parse(meta.get('simpleir.config') ?? 'null'), { ...PRESETS[preset] });
    const manifest = JSON.parse(readFileSync(join(root, 'weights', `${preset}.json`), 'utf8')) as { weightsFile: string };
    assert.equal(meta.get('simpleir.weights_file'), manifest.weightsFile);
    assert.equal(meta.get(WEIGHTS_SHA256_KEY), sha256(readFileSync(join(root, 'weights', manifest.weightsFile))), 'the export matches the current weights');
    // Small enough to ship in the package (weights/ is in package.json's files): under 512 KiB.
    assert.ok(bytes.length < 512 * 1024, `${bytes.length} bytes`);
  });
}

test('the package finds weights/ from this module, and loads the current exports', async () => {
  assert.equal(onnxWeightsDir(), join(root, 'weights'));
  const bytes = await readPresetOnnx('tiny');
  assert.equal(onnxMetadata(bytes).get('simpleir.preset'), 'tiny');
});

test('a stale export (another weight hash) is refused with WEIGHTS_MISMATCH naming npm run export-onnx; a missing one with WEIGHTS_NOT_FOUND', async () => {
  const bytes = readFileSync(join(root, 'weights', 'tiny.onnx'));
  // A later entry of a repeated field wins, as for any protobuf reader.
  writeFileSync(join(tmp, 'tiny.onnx'), Buffer.concat([bytes, entry(WEIGHTS_SHA256_KEY, '0'.repeat(64))]));
  await assert.rejects(readPresetOnnx('tiny', tmp), (e: { code?: string; message?: string }) => e.code === 'WEIGHTS_MISMATCH' && /npm run export-onnx/.test(e.message ?? ''));
  await assert.rejects(readPresetOnnx('base', tmp), (e: { code?: string; message?: string }) => e.code === 'WEIGHTS_NOT_FOUND' && /npm run export-onnx/.test(e.message ?? ''));
  assert.throws(() => onnxWeightsDir(tmpdir()), (e: { code?: string }) => e.code === 'WEIGHTS_NOT_FOUND');
});

test('onnxMetadata reads entries and refuses bytes that are not protobuf', () => {
  const meta = onnxMetadata(Buffer.concat([Buffer.from([0x08, 0x07]), entry('a', 'b'), entry('c', 'dé')]));
  assert.deepEqual([...meta], [['a', 'b'], ['c', 'dé']]);
  assert.throws(() => onnxMetadata(Buffer.from([0x72, 0x7f, 0x01])), (e: { code?: string }) => e.code === 'WEIGHTS_INVALID');
});
