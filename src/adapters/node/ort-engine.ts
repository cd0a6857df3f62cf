/**
 * An optional engine for Node batch work: a shipped preset's network run by ONNX Runtime
 * (`onnxruntime-node`, an optional peer dependency, imported on first use) on weights/<preset>.onnx,
 * with the SDK's own padding and finishing steps around it (tfjs tensors in and out).
 */
import * as tf from '@tensorflow/tfjs';
import type * as Ort from 'onnxruntime-node';
import { PRESETS, type PresetName, type SimpleIRConfig } from '../../core/config.js';
import { SimpleIRError } from '../../core/errors.js';
import { predictWithRunner, type PredictOptions } from '../../core/model/simpleir.js';
import { readPresetOnnx } from './onnx-file.js';

/** The onnxruntime-node version the package is tested with. */
export const ORT_NODE_VERSION = '1.31.1';

/** The onnxruntime-node module. */
export type OrtModule = typeof Ort;

/** How to install the optional engine, in one sentence. */
const INSTALL_HINT = `install it next to simpleir-stream with \`ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@${ORT_NODE_VERSION}\` (the variable skips a CUDA download; the CPU build ships in the package), or use --engine tfjs`;

/**
 * Imports onnxruntime-node (`importer` replaces the import in tests).
 * @throws SimpleIRError `BACKEND_UNAVAILABLE` saying how to install it when it is missing or does not load.
 */
export async function loadOrt(importer: () => Promise<unknown> = () => import('onnxruntime-node')): Promise<OrtModule> {
  let m: { default?: OrtModule } & Partial<OrtModule>;
  try {
    m = (await importer()) as typeof m;
  } catch (e) {
    const missing = ['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND'].includes((e as { code?: string })?.code ?? '');
    const why = missing ? 'onnxruntime-node is not installed' : `onnxruntime-node did not load (${(e as Error)?.message ?? String(e)})`;
    throw new SimpleIRError('BACKEND_UNAVAILABLE', `The ONNX Runtime engine needs the optional package onnxruntime-node: ${why}; ${INSTALL_HINT}.`, { package: 'onnxruntime-node' }, { cause: e });
  }
  const ort = m.InferenceSession ? (m as OrtModule) : m.default;
  if (!ort?.InferenceSession) throw new SimpleIRError('BACKEND_UNAVAILABLE', `onnxruntime-node loaded without an InferenceSession; ${INSTALL_HINT}.`);
  return ort;
}

/** Options of {@link OrtEngine.load}. */
export interface OrtEngineOptions {
  /** ONNX Runtime's intra-op threads (default: ONNX Runtime's choice, the machine's cores). */
  readonly threads?: number;
  /** Folder of the .onnx files (default: the package's `weights/`). */
  readonly weightsDir?: string;
  /** Replaces the import of onnxruntime-node (tests). */
  readonly importer?: () => Promise<unknown>;
}

/**
 * A shipped preset on ONNX Runtime, with the `predict` of a `SimpleIR` except that it is asynchronous
 * (the restore operator awaits it) and runs whole frames (no tiling: the CPU has the memory).
 * Call {@link OrtEngine.dispose} when done.
 */
export class OrtEngine {
  private constructor(
    /** The network's shape. */
    readonly config: SimpleIRConfig,
    private readonly ort: OrtModule,
    private readonly session: Ort.InferenceSession,
  ) {}

  /**
   * Loads weights/<preset>.onnx into an ONNX Runtime session on the CPU.
   * @throws SimpleIRError `BACKEND_UNAVAILABLE` (onnxruntime-node missing), `WEIGHTS_NOT_FOUND`, `WEIGHTS_MISMATCH` (a stale export).
   */
  static async load(preset: PresetName, options: OrtEngineOptions = {}): Promise<OrtEngine> {
    const ort = await loadOrt(options.importer);
    const bytes = await readPresetOnnx(preset, options.weightsDir);
    const session = await ort.InferenceSession.create(bytes, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      ...(options.threads ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}),
    });
    return new OrtEngine(PRESETS[preset], ort, session);
  }

  /**
   * The network on a float batch [B, H, W, 3] in [0, 1]: padded as `predictWith` pads, run by ONNX
   * Runtime, cropped back, and with `lowLight: 'off'` given the input's exposure back. Returns a new
   * tensor owned by the caller; `x` stays the caller's.
   * @throws SimpleIRError `INVALID_ARGUMENT` for a bad `lowLight`.
   */
  async predict(x: tf.Tensor4D, options: PredictOptions = {}): Promise<tf.Tensor4D> {
    return predictWithRunner(this.config, x, async (values, shape) => {
      const input = new this.ort.Tensor('float32', values, [...shape]);
      try {
        const result = await this.session.run({ [this.session.inputNames[0]!]: input });
        // A CPU tensor's data is a plain JS array (dispose would only drop the reference).
        return result[this.session.outputNames[0]!]!.data as Float32Array;
      } finally {
        input.dispose();
      }
    }, options);
  }

  /** Releases the session. */
  async dispose(): Promise<void> {
    await this.session.release();
  }
}
