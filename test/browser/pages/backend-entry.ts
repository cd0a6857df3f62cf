/**
 * Browser entry of the backend test: `SimpleIR.load` with no backend chosen, the automatic (measured)
 * choice and its cache, and explicit choices, through the SDK's own functions.
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { SimpleIR, selectBackend, clearBackendCache, type BackendInfo } from '../../../src/index';

/** What a restore of a small gradient gave. */
export interface LoadResult {
  backend: string;
  /** Output bytes differing from the input (the trained weights change a gradient a little). */
  changed: number;
  bytes: number;
  /** Tensors alive after `dispose` (nothing else in the page holds any). */
  tensorsLeft: number;
}

declare global {
  interface Window {
    /** Loads `tiny` from /weights/ after `prepare` ('none', 'tf-webgpu': tf.setBackend not awaited, 'sdk-cpu'), restores 16x16. */
    loadTiny: (prepare: 'none' | 'tf-webgpu' | 'sdk-cpu') => Promise<LoadResult>;
    /** `selectBackend()` (after clearing the cache when asked); the info as JSON. */
    autoSelect: (clear: boolean) => Promise<BackendInfo>;
    /** `selectBackend(name)`. */
    namedSelect: (name: 'webgpu' | 'wasm') => Promise<BackendInfo>;
    /** `tf.memory().numTensors`. */
    tensorCount: () => number;
  }
}

setWasmPaths('/wasm/');

window.loadTiny = async (prepare) => {
  if (prepare === 'tf-webgpu') void tf.setBackend('webgpu');
  if (prepare === 'sdk-cpu') await selectBackend('cpu');
  const model = await SimpleIR.load('tiny', { weightsBaseUrl: '/weights/' });
  const data = new Uint8ClampedArray(16 * 16 * 3).map((_, i) => (i * 7) % 256);
  const y = await model.restore({ data, width: 16, height: 16, channels: 3 });
  const backend = tf.getBackend();
  model.dispose();
  return { backend, bytes: y.data.length, changed: y.data.filter((v, i) => v !== data[i]).length, tensorsLeft: tf.memory().numTensors };
};

window.autoSelect = async (clear) => {
  if (clear) clearBackendCache();
  return selectBackend('auto', { onWarning: () => undefined });
};

window.namedSelect = (name) => selectBackend(name, { onWarning: () => undefined });

window.tensorCount = () => tf.memory().numTensors;
