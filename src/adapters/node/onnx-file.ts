/**
 * The shipped presets exported to ONNX (weights/<preset>.onnx, written by `npm run export-onnx`): where
 * they are, what their metadata says, and whether they still hold the shipped weights.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PresetName } from '../../core/config.js';
import { SimpleIRError } from '../../core/errors.js';
import { embeddedPreset } from '../../core/model/source.js';

/** Metadata key of the SHA-256 (hex) of the weight file's binary the .onnx was exported from. */
export const WEIGHTS_SHA256_KEY = 'simpleir.weights_sha256';

/** The folder this module's file is in: from `__filename` in the CommonJS bundle, `import.meta.url` in ES modules. */
function moduleDir(): string {
  return typeof __filename === 'string' ? dirname(__filename) : dirname(fileURLToPath(import.meta.url));
}

/**
 * The package's `weights/` folder: the nearest one holding `tiny.onnx` above this module (src/adapters/node
 * in a clone, dist/ in the installed package, whichever bundle format runs).
 * @throws SimpleIRError `WEIGHTS_NOT_FOUND` saying how to make the files.
 */
export function onnxWeightsDir(start: string = moduleDir()): string {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'weights', 'tiny.onnx'))) return join(dir, 'weights');
    if (dirname(dir) === dir) break;
  }
  throw new SimpleIRError('WEIGHTS_NOT_FOUND', `No weights/tiny.onnx above ${start}: the ONNX exports of the presets are missing; make them with \`npm run export-onnx\` in a clone of simpleir-stream.`, { start });
}

/**
 * The metadata_props of an ONNX model (ModelProto field 14, entries {key = 1, value = 2}), read from
 * the top level of its protobuf encoding without a protobuf library.
 * @throws SimpleIRError `WEIGHTS_INVALID` when the bytes are not a protobuf message.
 */
export function onnxMetadata(bytes: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  for (const [field, payload] of fields(bytes)) {
    if (field !== 14 || !payload) continue;
    let key = '';
    let value = '';
    for (const [f, p] of fields(payload)) {
      if (f === 1 && p) key = Buffer.from(p).toString('utf8');
      if (f === 2 && p) value = Buffer.from(p).toString('utf8');
    }
    out.set(key, value);
  }
  return out;
}

/** The fields of one protobuf message: number and, for length-delimited ones, the payload. */
function* fields(bytes: Uint8Array): Generator<[field: number, payload: Uint8Array | undefined]> {
  let at = 0;
  const varint = (): number => {
    let n = 0;
    for (let shift = 0; ; shift += 7) {
      if (at >= bytes.length || shift > 49) throw new SimpleIRError('WEIGHTS_INVALID', 'Not an ONNX model: a protobuf varint runs past the end.');
      const b = bytes[at++]!;
      n += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return n;
    }
  };
  while (at < bytes.length) {
    const tag = varint();
    const [field, wire] = [Math.floor(tag / 8), tag & 7];
    if (wire === 0) varint();
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const n = varint();
      if (at + n > bytes.length) throw new SimpleIRError('WEIGHTS_INVALID', `Not an ONNX model: field ${field} runs past the end.`);
      yield [field, bytes.subarray(at, at + n)];
      at += n;
      continue;
    } else throw new SimpleIRError('WEIGHTS_INVALID', `Not an ONNX model: protobuf wire type ${wire}.`);
    yield [field, undefined];
  }
}

/** SHA-256 (hex) of bytes. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The bytes of `<dir>/<preset>.onnx`, checked to hold the weights shipped with this build (the SHA-256
 * of the preset's binary recorded at export).
 * @throws SimpleIRError `WEIGHTS_NOT_FOUND` (no file), `WEIGHTS_MISMATCH` (a stale export: run `npm run export-onnx`).
 */
export async function readPresetOnnx(preset: PresetName, dir: string = onnxWeightsDir()): Promise<Uint8Array> {
  const file = join(dir, `${preset}.onnx`);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new SimpleIRError('WEIGHTS_NOT_FOUND', `${file} is missing: make it with \`npm run export-onnx\`.`, { path: file }, { cause: e });
  }
  const recorded = onnxMetadata(bytes).get(WEIGHTS_SHA256_KEY);
  const shipped = sha256((await embeddedPreset(preset)).data);
  if (recorded !== shipped) {
    throw new SimpleIRError('WEIGHTS_MISMATCH', `${file} was exported from other weights than the shipped '${preset}' (sha256 ${recorded ?? 'not recorded'}, shipped ${shipped}): re-export it with \`npm run export-onnx\`.`, { path: file });
  }
  return bytes;
}
