/**
 * The SimpleIR weight format: a JSON manifest (config, tensor names, shapes, dtypes, byte offsets,
 * checksum) plus one binary, in fp32 or fp16; and the same two parts packed into one buffer.
 * Documented in docs/weights.md.
 */
import { paramSpecs, validateConfig, type SimpleIRConfig } from './config.js';
import { invalidArgument, SimpleIRError } from './errors.js';

/** Storage precision of a weight file. Tensors are always float32 in memory. */
export type WeightDType = 'float32' | 'float16';

/** One tensor's entry in the manifest. */
export interface WeightEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: WeightDType;
  /** Byte offset of the tensor in the binary (a multiple of 4). */
  readonly offset: number;
  readonly byteLength: number;
}

/** The JSON half of a weight file. */
export interface WeightManifest {
  readonly format: 'simpleir-weights';
  readonly version: 1;
  readonly config: SimpleIRConfig;
  readonly dtype: WeightDType;
  /** File name of the binary, relative to the manifest. */
  readonly weightsFile: string;
  /** Total bytes of the binary. */
  readonly byteLength: number;
  /** `fnv1a32:` + 8 hex digits of the binary. */
  readonly checksum: string;
  readonly tensors: readonly WeightEntry[];
  /** Free-form facts: how the weights were trained, when, on what. */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** A decoded weight file: config plus float32 values by tensor name. */
export interface DecodedWeights {
  readonly config: SimpleIRConfig;
  readonly tensors: ReadonlyMap<string, Float32Array>;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly dtype: WeightDType;
}

/** The two parts of a weight file. */
export interface WeightFiles {
  readonly manifest: WeightManifest;
  readonly data: Uint8Array;
}

const PACK_MAGIC = 0x57524953; // "SIRW" little-endian
const PACK_VERSION = 1;

/** FNV-1a 32-bit hash of the bytes, as `fnv1a32:xxxxxxxx`. */
export function checksum(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return `fnv1a32:${(h >>> 0).toString(16).padStart(8, '0')}`;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 half-precision bits of a float (round to nearest even; overflow to infinity). */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** Float value of IEEE 754 half-precision bits. */
export function fromFloat16Bits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/**
 * Encodes named float32 tensors as a weight file. Tensor names and shapes must be exactly those of
 * `paramSpecs(config)`.
 */
export function encodeWeights(
  config: SimpleIRConfig,
  tensors: ReadonlyMap<string, Float32Array>,
  options: { dtype?: WeightDType; weightsFile?: string; metadata?: Record<string, unknown> } = {},
): WeightFiles {
  const dtype = options.dtype ?? 'float32';
  const specs = paramSpecs(config);
  const entries: WeightEntry[] = [];
  let offset = 0;
  for (const spec of specs) {
    const values = tensors.get(spec.name);
    const size = spec.shape.reduce((a, b) => a * b, 1);
    if (!values || values.length !== size) {
      throw new SimpleIRError('WEIGHTS_MISMATCH', `Cannot save: tensor ${spec.name} should have ${size} values (shape [${spec.shape}]), got ${values ? values.length : 'none'}.`, { tensor: spec.name });
    }
    const byteLength = size * (dtype === 'float16' ? 2 : 4);
    entries.push({ name: spec.name, shape: [...spec.shape], dtype, offset, byteLength });
    offset += Math.ceil(byteLength / 4) * 4;
  }
  const data = new Uint8Array(offset);
  const view = new DataView(data.buffer);
  for (const entry of entries) {
    const values = tensors.get(entry.name)!;
    for (let i = 0; i < values.length; i++) {
      if (dtype === 'float16') view.setUint16(entry.offset + 2 * i, toFloat16Bits(values[i]!), true);
      else view.setFloat32(entry.offset + 4 * i, values[i]!, true);
    }
  }
  const manifest: WeightManifest = {
    format: 'simpleir-weights',
    version: 1,
    config: { ...config },
    dtype,
    weightsFile: options.weightsFile ?? 'weights.bin',
    byteLength: data.length,
    checksum: checksum(data),
    tensors: entries,
    ...(options.metadata ? { metadata: options.metadata } : {}),
  };
  return { manifest, data };
}

function invalid(message: string, details: Record<string, unknown> = {}): SimpleIRError {
  return new SimpleIRError('WEIGHTS_INVALID', `${message} The file is not a SimpleIR weight file or is damaged: re-download or re-export it.`, details);
}

/** Checks a parsed manifest's structure (not yet against the binary). */
export function validateManifest(manifest: unknown): WeightManifest {
  if (typeof manifest !== 'object' || manifest === null) throw invalid('The weight manifest is not a JSON object.');
  const m = manifest as Record<string, unknown>;
  if (m.format !== 'simpleir-weights') throw invalid(`The manifest's "format" is ${JSON.stringify(m.format)}, expected "simpleir-weights".`);
  if (m.version !== 1) throw invalid(`Weight format version ${JSON.stringify(m.version)} is not supported (this SDK reads version 1).`);
  if (m.dtype !== 'float32' && m.dtype !== 'float16') throw invalid(`Unknown storage dtype ${JSON.stringify(m.dtype)}; expected float32 or float16.`);
  if (!Array.isArray(m.tensors)) throw invalid('The manifest has no "tensors" list.');
  if (typeof m.byteLength !== 'number' || typeof m.checksum !== 'string') throw invalid('The manifest lacks "byteLength" or "checksum".');
  if (typeof m.weightsFile !== 'string' || m.weightsFile.length === 0) throw invalid(`The manifest's "weightsFile" is ${JSON.stringify(m.weightsFile)}, expected the binary's file name.`);
  let config: SimpleIRConfig;
  try {
    config = validateConfig(m.config);
  } catch (e) {
    throw new SimpleIRError('WEIGHTS_INVALID', `The manifest's config is invalid: ${(e as Error).message}`, {}, { cause: e });
  }
  for (const t of m.tensors as unknown[]) {
    const e = t as Record<string, unknown>;
    if (typeof e?.name !== 'string' || !Array.isArray(e.shape) || typeof e.offset !== 'number' || typeof e.byteLength !== 'number') {
      throw invalid('A tensor entry lacks name, shape, offset or byteLength.');
    }
    if (e.dtype !== undefined && e.dtype !== 'float32' && e.dtype !== 'float16') {
      throw invalid(`Tensor ${e.name} has storage dtype ${JSON.stringify(e.dtype)}; expected float32 or float16.`, { tensor: e.name });
    }
  }
  return { ...(m as unknown as WeightManifest), config };
}

/**
 * Decodes and checks a weight file: structure, size, checksum, then names and shapes against the
 * config's own parameter list, then finiteness of every value.
 * @throws SimpleIRError `WEIGHTS_INVALID` (damaged or foreign file) or `WEIGHTS_MISMATCH` (tensors do not fit the config).
 */
export function decodeWeights(manifestIn: unknown, dataIn: ArrayBuffer | Uint8Array): DecodedWeights {
  const manifest = validateManifest(manifestIn);
  if (!(dataIn instanceof ArrayBuffer) && !(dataIn instanceof Uint8Array)) throw invalidArgument('decodeWeights(manifest, data)', 'the binary as an ArrayBuffer or Uint8Array', dataIn);
  const data = dataIn instanceof Uint8Array ? dataIn : new Uint8Array(dataIn);
  if (data.length !== manifest.byteLength) {
    throw invalid(`The weight binary has ${data.length} bytes but the manifest says ${manifest.byteLength} (truncated or wrong file).`, { expected: manifest.byteLength, actual: data.length });
  }
  const sum = checksum(data);
  if (sum !== manifest.checksum) throw invalid(`Checksum mismatch: binary is ${sum}, manifest says ${manifest.checksum}.`);
  const specs = paramSpecs(manifest.config);
  const byName = new Map(manifest.tensors.map((t) => [t.name, t]));
  if (byName.size !== manifest.tensors.length) throw invalid('The manifest lists a tensor name twice.');
  const tensors = new Map<string, Float32Array>();
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  // Tensors lie in the binary in the config's canonical order, each at a multiple of 4, without
  // overlap: a damaged offset would otherwise read another tensor's bytes (the checksum covers
  // only the binary, not the manifest).
  let end = 0;
  for (const spec of specs) {
    const entry = byName.get(spec.name);
    if (!entry) throw new SimpleIRError('WEIGHTS_MISMATCH', `Weight file lacks tensor ${spec.name} required by config ${JSON.stringify(manifest.config)}.`, { tensor: spec.name });
    if (entry.shape.length !== spec.shape.length || entry.shape.some((d, i) => d !== spec.shape[i])) {
      throw new SimpleIRError('WEIGHTS_MISMATCH', `Tensor ${spec.name} has shape [${entry.shape}] but config ${JSON.stringify(manifest.config)} needs [${spec.shape}].`, { tensor: spec.name });
    }
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const dtype = entry.dtype ?? manifest.dtype;
    const bytesPer = dtype === 'float16' ? 2 : 4;
    if (entry.byteLength !== size * bytesPer || !Number.isInteger(entry.offset) || entry.offset % 4 !== 0 || entry.offset < end || entry.offset + entry.byteLength > data.length) {
      const why = entry.offset < end ? `it overlaps the tensor before it or is out of order, which ends at byte ${end}` : 'offsets are multiples of 4, lengths match the shape, and both lie inside the binary';
      throw invalid(`Tensor ${spec.name} has an impossible byte range (offset ${entry.offset}, length ${entry.byteLength}): ${why}.`, { tensor: spec.name });
    }
    end = entry.offset + entry.byteLength;
    const values = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      values[i] = bytesPer === 2 ? fromFloat16Bits(view.getUint16(entry.offset + 2 * i, true)) : view.getFloat32(entry.offset + 4 * i, true);
    }
    for (let i = 0; i < size; i++) {
      if (!Number.isFinite(values[i]!)) {
        throw new SimpleIRError('NON_FINITE', `Tensor ${spec.name} holds a non-finite value (${values[i]}) at index ${i}: the weights are broken (diverged training?).`, { tensor: spec.name, index: i });
      }
    }
    tensors.set(spec.name, values);
  }
  const extra = manifest.tensors.filter((t) => !specs.some((s) => s.name === t.name));
  if (extra.length > 0) {
    throw new SimpleIRError('WEIGHTS_MISMATCH', `Weight file has tensors unknown to config ${JSON.stringify(manifest.config)}: ${extra.slice(0, 5).map((t) => t.name).join(', ')}.`);
  }
  return { config: manifest.config, tensors, metadata: manifest.metadata ?? {}, dtype: manifest.dtype };
}

/** Packs manifest and binary into one buffer: "SIRW", u32 version, u32 manifest length, manifest JSON, padding to 8, binary. */
export function packWeights(files: WeightFiles): Uint8Array {
  if (typeof files?.manifest !== 'object' || files.manifest === null || !(files.data instanceof Uint8Array)) {
    throw invalidArgument('packWeights(files)', '{ manifest, data: Uint8Array } as model.toWeightFiles() gives', files);
  }
  const json = new TextEncoder().encode(JSON.stringify(files.manifest));
  const head = 12 + json.length;
  const start = Math.ceil(head / 8) * 8;
  const out = new Uint8Array(start + files.data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, PACK_MAGIC, true);
  view.setUint32(4, PACK_VERSION, true);
  view.setUint32(8, json.length, true);
  out.set(json, 12);
  out.set(files.data, start);
  return out;
}

/** True when the buffer starts with the packed-weights magic. */
export function isPackedWeights(buffer: ArrayBuffer | Uint8Array): boolean {
  const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
  return bytes.length >= 4 && new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) === PACK_MAGIC;
}

/** Splits a packed buffer into manifest and binary. */
export function unpackWeights(buffer: ArrayBuffer | Uint8Array): WeightFiles {
  if (!(buffer instanceof ArrayBuffer) && !(buffer instanceof Uint8Array)) throw invalidArgument('unpackWeights(buffer)', 'an ArrayBuffer or Uint8Array', buffer);
  const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
  if (!isPackedWeights(bytes)) throw invalid('The buffer does not start with the packed weight magic "SIRW".');
  if (bytes.length < 12) throw invalid('The packed weight buffer is truncated (no header).');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(4, true);
  if (version !== PACK_VERSION) throw invalid(`Packed weight container version ${version} is not supported.`);
  const len = view.getUint32(8, true);
  if (12 + len > bytes.length) throw invalid('The packed weight buffer is truncated (manifest cut short).');
  let manifest: unknown;
  try {
    manifest = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + len)));
  } catch (e) {
    throw invalid(`The packed manifest is not valid JSON (${(e as Error).message}).`);
  }
  const start = Math.ceil((12 + len) / 8) * 8;
  return { manifest: manifest as WeightManifest, data: bytes.subarray(Math.min(start, bytes.length)) };
}

/** Parses manifest JSON text with a typed error. */
export function parseManifest(text: string): WeightManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw invalid(`The weight manifest is not valid JSON (${(e as Error).message}).`);
  }
  return validateManifest(json);
}
