/**
 * Replay crops: training pairs kept as 8-bit pixels, so that a review memory can be stored, shipped in
 * a weight file's metadata (`metadata.memory`, see docs/online-learning.md) and replayed by the online
 * learner; with the conversions between crops, tensors and their stored forms.
 */
import * as tf from '@tensorflow/tfjs';
import { fromBase64, toBase64 } from '../base64.js';
import { describeValue, invalidArgument, isOptionsObject, SimpleIRError } from '../errors.js';
import { HardSampleMemory, type HardSampleMemoryJSON } from './memory.js';
import type { PairSource, SampleRef } from './trainer.js';

/** One training pair as interleaved 8-bit RGB, row-major, `width * height * 3` bytes each. */
export interface ReplayCrop {
  readonly width: number;
  readonly height: number;
  readonly degraded: Uint8Array;
  readonly clean: Uint8Array;
}

/** The `format` marker of a {@link ReplayMemoryJSON}. */
export const REPLAY_MEMORY_FORMAT = 'simpleir-replay-memory';

/** One crop of a {@link ReplayMemoryJSON}: its pixels as base64 of raw RGB bytes. */
export interface ReplayCropJSON {
  readonly id: string;
  /** Difficulty (loss fluctuation) when exported. */
  readonly score: number;
  readonly width: number;
  readonly height: number;
  /** Base64 of `width * height * 3` bytes. */
  readonly degraded: string;
  readonly clean: string;
}

/**
 * A bounded review memory in pixels, small enough for a weight manifest: at most `perDomain` crops of
 * at most `cropSize` x `cropSize` per domain. Stored as a weight file's `metadata.memory`.
 */
export interface ReplayMemoryJSON {
  readonly format: typeof REPLAY_MEMORY_FORMAT;
  readonly version: 1;
  readonly encoding: 'rgb8-base64';
  readonly cropSize: number;
  readonly perDomain: number;
  readonly domains: readonly { readonly domain: string; readonly crops: readonly ReplayCropJSON[] }[];
}

/** Limits of an exported memory. */
export interface ReplayExportOptions {
  /** Crops larger than this are cut to their central `cropSize` x `cropSize` (default 64). */
  readonly cropSize?: number;
  /** Crops kept per domain, highest score first (default 8). */
  readonly perDomain?: number;
}

/** The binary form of a whole memory, for learner stores: an index (JSON) plus all pixels in one buffer. */
export interface ReplayMemoryFiles {
  /** The memory's structure; each sample is where its pixels are in `data`. */
  readonly index: HardSampleMemoryJSON<{ offset: number; width: number; height: number }>;
  /** Degraded then clean bytes of every crop, one crop after another. */
  readonly data: Uint8Array;
}

/** One entry read from a {@link ReplayMemoryJSON}. */
export interface ReplayEntry {
  readonly domain: string;
  readonly id: string;
  readonly score: number;
  readonly crop: ReplayCrop;
}

/** Float [1, H, W, 3] (or [H, W, 3]) in [0, 1] to RGB bytes (rounded, clamped). */
async function toBytes(t: tf.Tensor): Promise<Uint8Array> {
  const v = await t.data();
  const out = new Uint8ClampedArray(v.length);
  for (let i = 0; i < v.length; i++) out[i] = Math.round(v[i]! * 255);
  return new Uint8Array(out.buffer);
}

/** Pixel crops of a batch of pairs [B, H, W, 3] (float in [0, 1]); the tensors are not disposed. */
export async function tensorsToCrops(degraded: tf.Tensor4D, clean: tf.Tensor4D): Promise<ReplayCrop[]> {
  const [b, h, w] = degraded.shape;
  const [d, c] = await Promise.all([toBytes(degraded), toBytes(clean)]);
  const size = h * w * 3;
  return Array.from({ length: b }, (_, i) => ({ width: w, height: h, degraded: d.slice(i * size, (i + 1) * size), clean: c.slice(i * size, (i + 1) * size) }));
}

/** A batch [B, H, W, 3] float32 of crops of one size; the caller disposes it. */
export function cropsToTensors(crops: readonly ReplayCrop[]): { degraded: tf.Tensor4D; clean: tf.Tensor4D } {
  const first = crops[0];
  if (!first) throw new SimpleIRError('INVALID_ARGUMENT', 'cropsToTensors needs at least one crop.');
  const { width, height } = first;
  const size = width * height * 3;
  const d = new Float32Array(size * crops.length);
  const c = new Float32Array(size * crops.length);
  crops.forEach((crop, i) => {
    if (crop.width !== width || crop.height !== height) throw new SimpleIRError('INVALID_ARGUMENT', 'cropsToTensors: crops of one batch must share their size.');
    for (let k = 0; k < size; k++) {
      d[i * size + k] = crop.degraded[k]! / 255;
      c[i * size + k] = crop.clean[k]! / 255;
    }
  });
  const shape: [number, number, number, number] = [crops.length, height, width, 3];
  return { degraded: tf.tensor4d(d, shape), clean: tf.tensor4d(c, shape) };
}

/** The central `side` x `side` part of a crop (the crop itself when it is not larger). */
export function centerCrop(crop: ReplayCrop, side: number): ReplayCrop {
  const w = Math.min(side, crop.width);
  const h = Math.min(side, crop.height);
  if (w === crop.width && h === crop.height) return crop;
  const x0 = Math.floor((crop.width - w) / 2);
  const y0 = Math.floor((crop.height - h) / 2);
  const cut = (src: Uint8Array): Uint8Array => {
    const out = new Uint8Array(w * h * 3);
    for (let row = 0; row < h; row++) {
      const start = ((y0 + row) * crop.width + x0) * 3;
      out.set(src.subarray(start, start + w * 3), row * w * 3);
    }
    return out;
  };
  return { width: w, height: h, degraded: cut(crop.degraded), clean: cut(crop.clean) };
}

function checkLimits(options: ReplayExportOptions): { cropSize: number; perDomain: number } {
  const cropSize = options.cropSize ?? 64;
  const perDomain = options.perDomain ?? 8;
  if (!Number.isInteger(cropSize) || cropSize < 1 || !Number.isInteger(perDomain) || perDomain < 0) {
    throw new SimpleIRError('INVALID_ARGUMENT', `Replay export needs an integer cropSize >= 1 and perDomain >= 0; got ${cropSize}, ${perDomain}.`);
  }
  return { cropSize, perDomain };
}

function cropJSON(id: string, score: number, crop: ReplayCrop): ReplayCropJSON {
  return { id, score, width: crop.width, height: crop.height, degraded: toBase64(crop.degraded), clean: toBase64(crop.clean) };
}

/**
 * The shippable form of a memory of pixel crops: per domain, the `perDomain` crops of highest score,
 * each cut to its central `cropSize` square. Put it in a weight file's `metadata.memory`.
 */
export function exportReplayMemory(memory: HardSampleMemory<ReplayCrop>, options: ReplayExportOptions = {}): ReplayMemoryJSON {
  if (!(memory instanceof HardSampleMemory)) throw invalidArgument('exportReplayMemory(memory)', 'a HardSampleMemory of replay crops', memory);
  const { cropSize, perDomain } = checkLimits(options);
  const byDomain = new Map<string, { id: string; score: number; crop: ReplayCrop }[]>();
  for (const e of memory) {
    const list = byDomain.get(e.task) ?? [];
    list.push({ id: e.id, score: e.score, crop: e.sample });
    byDomain.set(e.task, list);
  }
  const domains = [...byDomain].map(([domain, list]) => ({
    domain,
    crops: list
      .sort((a, b) => b.score - a.score)
      .slice(0, perDomain)
      .map((e) => cropJSON(e.id, e.score, centerCrop(e.crop, cropSize))),
  }));
  return { format: REPLAY_MEMORY_FORMAT, version: 1, encoding: 'rgb8-base64', cropSize, perDomain, domains };
}

/** True when `value` is a {@link ReplayMemoryJSON} (by its format marker; not a full check). */
export function isReplayMemoryJSON(value: unknown): value is ReplayMemoryJSON {
  return typeof value === 'object' && value !== null && (value as { format?: unknown }).format === REPLAY_MEMORY_FORMAT;
}

/**
 * The crops of a shipped memory, checked (sizes, base64).
 * @throws SimpleIRError `WEIGHTS_INVALID` when the memory is malformed.
 */
export function importReplayMemory(json: ReplayMemoryJSON): ReplayEntry[] {
  const bad = (why: string): SimpleIRError => new SimpleIRError('WEIGHTS_INVALID', `The weight file's replay memory is malformed: ${why}.`);
  if (!isOptionsObject(json)) throw bad(`expected an object (metadata.memory), got ${describeValue(json)}`);
  if (json.version !== 1 || json.encoding !== 'rgb8-base64' || !Array.isArray(json.domains)) throw bad('expected version 1, encoding rgb8-base64 and a domains list');
  const out: ReplayEntry[] = [];
  for (const { domain, crops } of json.domains) {
    if (typeof domain !== 'string' || !Array.isArray(crops)) throw bad('each domain needs a name and a crops list');
    for (const c of crops) {
      if (!Number.isInteger(c.width) || !Number.isInteger(c.height) || c.width < 1 || c.height < 1) throw bad(`crop ${c.id} of ${domain} has no valid size`);
      const degraded = fromBase64(c.degraded, 'replay memory');
      const clean = fromBase64(c.clean, 'replay memory');
      const size = c.width * c.height * 3;
      if (degraded.length !== size || clean.length !== size) throw bad(`crop ${c.id} of ${domain} holds ${degraded.length}/${clean.length} bytes, ${size} expected`);
      out.push({ domain, id: String(c.id), score: Number.isFinite(c.score) ? c.score : 0, crop: { width: c.width, height: c.height, degraded, clean } });
    }
  }
  return out;
}

/**
 * Turns an offline trainer's memory of sample references into a shippable memory of pixels: the
 * `perDomain` highest-score samples of each task, made by `source` (the trainer's pair source) and cut
 * to their central `cropSize` square. For the train CLI, after training: write the result as the
 * weight file's `metadata.memory`.
 */
export async function materializeMemory(
  memory: HardSampleMemory<SampleRef> | HardSampleMemoryJSON<SampleRef>,
  source: PairSource,
  options: ReplayExportOptions = {},
): Promise<ReplayMemoryJSON> {
  const { cropSize, perDomain } = checkLimits(options);
  const refs = memory instanceof HardSampleMemory ? memory : HardSampleMemory.fromJSON(memory, (s) => s);
  const pixels = new HardSampleMemory<ReplayCrop>({ capacity: Math.max(1, perDomain * Math.max(1, refs.tasks().length)), perTask: perDomain, balance: false });
  for (const task of refs.tasks()) {
    const chosen = [...refs].filter((e) => e.task === task).sort((a, b) => b.score - a.score).slice(0, perDomain);
    for (const e of chosen) {
      const { degraded, clean } = await source.pairs([e.sample]);
      try {
        const [crop] = await tensorsToCrops(degraded, clean);
        pixels.add(task, e.id, centerCrop(crop!, cropSize), e.score);
      } finally {
        tf.dispose([degraded, clean]);
      }
    }
  }
  return exportReplayMemory(pixels, { cropSize, perDomain });
}

/** A memory of crops in its binary form (for stores). */
export function encodeReplayMemory(memory: HardSampleMemory<ReplayCrop>): ReplayMemoryFiles {
  let total = 0;
  for (const e of memory) total += e.sample.degraded.length + e.sample.clean.length;
  const data = new Uint8Array(total);
  let offset = 0;
  const index = memory.toJSON((crop) => {
    const at = offset;
    data.set(crop.degraded, offset);
    data.set(crop.clean, offset + crop.degraded.length);
    offset += crop.degraded.length + crop.clean.length;
    return { offset: at, width: crop.width, height: crop.height };
  });
  return { index, data };
}

/**
 * A memory of crops from its binary form.
 * @throws SimpleIRError `CORRUPT_INPUT` when an entry points outside the data.
 */
export function decodeReplayMemory(files: ReplayMemoryFiles): HardSampleMemory<ReplayCrop> {
  return HardSampleMemory.fromJSON(files.index, (s, task, id) => {
    const size = s.width * s.height * 3;
    if (!(s.offset >= 0 && s.offset + 2 * size <= files.data.length)) {
      throw new SimpleIRError('CORRUPT_INPUT', `Stored replay memory is damaged: crop ${task}/${id} lies outside its data.`, { task, id });
    }
    return { width: s.width, height: s.height, degraded: files.data.slice(s.offset, s.offset + size), clean: files.data.slice(s.offset + size, s.offset + 2 * size) };
  });
}
