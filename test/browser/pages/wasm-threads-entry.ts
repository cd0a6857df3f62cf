/**
 * Browser entry of the wasm threads test: `selectBackend('wasm', { wasmThreads })`, then a restore of a
 * 64x64 frame with the shipped `tiny` weights; what tfjs reports and the output bytes.
 */
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { SimpleIR, selectBackend, type BackendInfo } from '../../../src/index';

/** One page's run. */
export interface ThreadsRun {
  info: BackendInfo;
  warnings: string[];
  /** `getThreadsCount()` of tfjs-backend-wasm after the restore. */
  tfjsThreads: number;
  crossOriginIsolated: boolean;
  /** `navigator.hardwareConcurrency` before `selectBackend` and after the restore. */
  coresBefore: number;
  coresAfter: number;
  /** The restored 64x64 RGB frame. */
  output: number[];
  tensorsLeft: number;
}

declare global {
  interface Window {
    /** Starts wasm with `wasmThreads` and restores a 64x64 frame. */
    threadsRun: (threads: number | 'auto') => Promise<ThreadsRun>;
    /** `selectBackend('wasm', { wasmThreads })` again, after the first start: the warnings it gave. */
    threadsAgain: (threads: number) => Promise<string[]>;
  }
}

setWasmPaths('/wasm/');

window.threadsRun = async (threads) => {
  const warnings: string[] = [];
  const coresBefore = navigator.hardwareConcurrency;
  const info = await selectBackend('wasm', { wasmThreads: threads, onWarning: (m) => warnings.push(m) });
  const model = await SimpleIR.load('tiny', { weightsBaseUrl: '/weights/' });
  const size = 64;
  const data = new Uint8ClampedArray(size * size * 3).map((_, i) => (i * 37 + ((i / 192) | 0) * 11) % 256);
  const y = await model.restore({ data, width: size, height: size, channels: 3 });
  model.dispose();
  return {
    info,
    warnings,
    tfjsThreads: getThreadsCount(),
    crossOriginIsolated: globalThis.crossOriginIsolated,
    coresBefore,
    coresAfter: navigator.hardwareConcurrency,
    output: Array.from(y.data),
    tensorsLeft: tf.memory().numTensors,
  };
};

window.threadsAgain = async (threads) => {
  const warnings: string[] = [];
  await selectBackend('wasm', { wasmThreads: threads, onWarning: (m) => warnings.push(m) });
  return warnings;
};
