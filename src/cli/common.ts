/** Shared pieces of the `simpleir` command line: model loading, backend choice, progress output, errors. */
import { SingleBar } from 'cli-progress';
import { selectBackend, type BackendName } from '../core/backend.js';
import { SimpleIRError } from '../core/errors.js';
import { open } from 'node:fs/promises';
import { isPresetName } from '../core/config.js';
import { restoreImageWith, SimpleIR, type PredictOptions } from '../core/model/simpleir.js';
import { isPackedWeights } from '../core/weights.js';
import type { RGBImage } from '../core/image.js';
import type { FramePredictor } from '../streams/restore.js';
import { OrtEngine } from '../adapters/node/ort-engine.js';

/** Chooses the backend for a CLI run (default wasm in Node). */
export async function useBackend(name: string | undefined): Promise<string> {
  const info = await selectBackend((name ?? 'wasm') as BackendName, { onWarning: (m) => process.stderr.write(`warning: ${m}\n`) });
  return info.name;
}

/**
 * Loads `tiny`, `base` or a weight file path. A file that is neither a JSON manifest nor a packed
 * `.sirw` is refused before it is parsed, saying what it looks like.
 * @throws SimpleIRError `WEIGHTS_INVALID` for such a file; `SimpleIR.load`'s errors.
 */
export async function loadModel(spec: string | undefined): Promise<SimpleIR> {
  const name = spec ?? 'tiny';
  if (!isPresetName(name) && !/^[a-z]+:\/\//i.test(name)) await checkWeightFile(name);
  return SimpleIR.load(name);
}

/** What runs the network: tfjs (the SDK, every backend) or ONNX Runtime (onnxruntime-node, optional, CPU). */
export type EngineName = 'tfjs' | 'ort';

/** Parses `--engine`. */
export function engineOption(value: string): EngineName {
  if (value === 'tfjs' || value === 'ort') return value;
  throw new SimpleIRError('INVALID_ARGUMENT', `--engine must be tfjs or ort; got ${JSON.stringify(value)}. ort runs the shipped presets with ONNX Runtime (the optional package onnxruntime-node).`);
}

/** A loaded network behind either engine: frames for the restore operator, images one by one. */
export interface CliModel {
  /** What the restore operator runs. */
  readonly predictor: FramePredictor;
  /** Restores one image (bytes in, bytes out; alpha kept). */
  restoreImage(image: RGBImage, options: PredictOptions): Promise<RGBImage>;
  /** Where it runs, for the summary line: the tfjs backend, or onnxruntime-node. */
  readonly runsOn: string;
  /** Releases it. */
  dispose(): Promise<void>;
}

/**
 * Loads `--model` on `--engine`. The ort engine runs the shipped presets' ONNX exports (weights/*.onnx)
 * on whole frames; the tfjs backend chosen before still pads, crops and converts frames.
 * @throws SimpleIRError `INVALID_ARGUMENT` for a weight file or `--tile` with ort; `loadModel`'s and `OrtEngine.load`'s errors.
 */
export async function loadCliModel(spec: string | undefined, engine: EngineName, options: { tiled?: boolean; backend?: string } = {}): Promise<CliModel> {
  if (engine === 'tfjs') {
    const model = await loadModel(spec);
    return {
      predictor: model,
      restoreImage: (image, o) => model.restore(image, o),
      runsOn: options.backend ?? 'tfjs',
      dispose: async () => model.dispose(),
    };
  }
  const name = spec ?? 'tiny';
  if (!isPresetName(name)) {
    throw new SimpleIRError('INVALID_ARGUMENT', `--engine ort runs the shipped presets (tiny, base), exported to ONNX; ${name} is not one: use --engine tfjs for other weights.`, { model: name });
  }
  if (options.tiled) throw new SimpleIRError('INVALID_ARGUMENT', '--tile applies to the tfjs engine; --engine ort runs whole frames: drop --tile.');
  const ort = await OrtEngine.load(name);
  return {
    predictor: ort,
    restoreImage: (image, o) => restoreImageWith((x) => ort.predict(x, o), image),
    runsOn: 'onnxruntime-node (cpu)',
    dispose: () => ort.dispose(),
  };
}

/** Throws `WEIGHTS_INVALID` when `path` is a readable file that starts like no weight file (a missing file is left to `SimpleIR.load`). */
async function checkWeightFile(path: string): Promise<void> {
  let head: Buffer;
  try {
    const handle = await open(path, 'r');
    try {
      head = Buffer.alloc(16);
      head = head.subarray(0, (await handle.read(head, 0, 16, 0)).bytesRead);
    } finally {
      await handle.close();
    }
  } catch {
    return;
  }
  if (isPackedWeights(head) || /^\s*\{/.test(head.toString('latin1'))) return;
  throw new SimpleIRError(
    'WEIGHTS_INVALID',
    `--model ${path} is not a SimpleIR weight file: ${describeStart(head)}. Give tiny, base, or a weight file: a .json manifest (with its .bin) or a .sirw file, as written by 'simpleir train' or model.toWeightFiles().`,
    { path },
  );
}

/** What the first bytes of a file say it is, in words (never the raw bytes). */
export function describeStart(head: Uint8Array): string {
  const text = Buffer.from(head).toString('latin1');
  const kinds: [boolean, string][] = [
    [head[0] === 0x89 && text.slice(1, 4) === 'PNG', 'it is a PNG image'],
    [head[0] === 0xff && head[1] === 0xd8, 'it is a JPEG image'],
    [text.startsWith('RIFF') && text.slice(8, 12) === 'WEBP', 'it is a WebP image'],
    [text.slice(4, 8) === 'ftyp', 'it is an MP4/MOV video'],
    [text.startsWith('YUV4MPEG2'), 'it is a Y4M video'],
    [text.startsWith('GIF8'), 'it is a GIF image'],
    [text.startsWith('PK'), 'it is a ZIP archive'],
    [head[0] === 0x1f && head[1] === 0x8b, 'it is gzip-compressed'],
  ];
  const kind = kinds.find(([match]) => match)?.[1];
  if (kind) return kind;
  if (head.length === 0) return 'it is empty';
  const printable = /^[\x20-\x7e\t\r\n]*$/.test(text);
  return printable ? `it starts with the text '${text.replace(/\s+/g, ' ').trim()}'` : `it starts with the bytes ${Buffer.from(head.subarray(0, 8)).toString('hex').replace(/(..)/g, '$1 ').trim()}`;
}

/** Progress for long work: a bar on a terminal, plain lines otherwise. */
export class Progress {
  private bar: SingleBar | null = null;
  private lastLine = 0;

  constructor(private readonly total: number, private readonly label: string) {
    if (process.stderr.isTTY) {
      this.bar = new SingleBar({ format: `${label} [{bar}] {value}/{total} {percentage}% | {info} | eta {eta_formatted}`, stream: process.stderr, hideCursor: true }, undefined);
    }
  }

  start(value: number, info = ''): void {
    this.bar?.start(this.total, value, { info });
  }

  update(value: number, info: string): void {
    if (this.bar) {
      this.bar.update(value, { info });
      return;
    }
    const now = Date.now();
    if (now - this.lastLine > 10_000 || value === this.total) {
      this.lastLine = now;
      process.stderr.write(`${this.label} ${value}/${this.total} ${info}\n`);
    }
  }

  stop(): void {
    this.bar?.stop();
  }
}

/** Prints an error as one clear line (control characters and undecodable bytes shown as `?`) and sets a non-zero exit code. */
export function reportError(e: unknown): void {
  const message = e instanceof SimpleIRError ? ` [${e.code}]: ${e.message}` : `: ${(e as Error)?.message ?? String(e)}`;
  process.stderr.write(`simpleir: error${message.replace(/[\u0000-\u001f\u007f-\u009f\ufffd]+/g, '?')}\n`);
  process.exitCode = 1;
}

/** Parses a number option or throws a clear error. */
export function numberOption(name: string, value: string | undefined, fallback: number, check: (n: number) => boolean = () => true): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || !check(n)) throw new SimpleIRError('INVALID_ARGUMENT', `--${name} ${value} is not valid.`);
  return n;
}
