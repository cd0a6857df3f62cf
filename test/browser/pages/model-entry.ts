/**
 * Browser entry of the model test: SimpleIR (random weights, tiny) on a seeded 64x64 input, on the
 * webgpu, wasm and cpu backends, through the SDK's own backend selection.
 */
import * as tf from '@tensorflow/tfjs';
import { SimpleIR, selectBackend, type BackendName } from '../../../src/index';

export interface ModelResult {
  outputs: Partial<Record<BackendName, number[]>>;
  backends: Partial<Record<BackendName, { name: string; fallbackAdapter: boolean }>>;
  autoBackend: string;
  tensorsBefore: number;
  tensorsAfter: number;
  paramCount: number;
}

declare global {
  interface Window {
    runModel: () => Promise<ModelResult>;
  }
}

window.runModel = async (): Promise<ModelResult> => {
  const auto = await selectBackend('auto', { wasmPaths: '/wasm/', onWarning: () => undefined });
  const input = new Float32Array(64 * 64 * 3);
  let s = 12345;
  for (let i = 0; i < input.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    input[i] = (s >>> 8) / 16777216;
  }
  const result: ModelResult = { outputs: {}, backends: {}, autoBackend: auto.name, tensorsBefore: 0, tensorsAfter: 0, paramCount: 0 };
  for (const name of ['webgpu', 'wasm', 'cpu'] as const) {
    const info = await selectBackend(name, { wasmPaths: '/wasm/', onWarning: () => undefined });
    result.backends[name] = { name: info.name, fallbackAdapter: info.fallbackAdapter };
    const model = SimpleIR.create('tiny', { init: 'random', seed: 7 });
    result.paramCount = model.paramCount;
    const x = tf.tensor3d(input, [64, 64, 3]);
    const before = tf.memory().numTensors;
    const y = await model.restore(x);
    result.outputs[name] = Array.from(await y.data());
    y.dispose();
    if (name === 'webgpu') {
      result.tensorsBefore = before;
      result.tensorsAfter = tf.memory().numTensors;
    }
    x.dispose();
    model.dispose();
  }
  return result;
};
