/**
 * tfjs helpers for Node tests.
 *
 *   const tf = await useBackend('wasm');
 *   await assertNoLeak(async () => { ... });
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

export type NodeBackend = 'wasm' | 'cpu';

/** Selects the tfjs backend (`wasm`: SIMD, no threads in Node; `cpu`: plain JS) and returns tf. Throws when it cannot be set. */
export async function useBackend(name: NodeBackend): Promise<typeof tf> {
  if (tf.getBackend() !== name) {
    const ok = await tf.setBackend(name);
    if (!ok) throw new Error(`tf.setBackend('${name}') failed`);
  }
  await tf.ready();
  if (tf.getBackend() !== name) throw new Error(`tfjs is on '${tf.getBackend()}', not '${name}'`);
  return tf;
}

/**
 * Runs `fn` and throws when it leaves more tensors alive than it found (`allowed` extra are tolerated).
 * Returns what `fn` returned; the tensors it returns count as leaks unless allowed, so dispose them inside.
 */
export async function assertNoLeak<T>(fn: () => T | Promise<T>, options: { allowed?: number; label?: string } = {}): Promise<T> {
  const before = tf.memory().numTensors;
  const result = await fn();
  const after = tf.memory().numTensors;
  const leaked = after - before;
  if (leaked > (options.allowed ?? 0)) {
    const what = options.label ? ` in ${options.label}` : '';
    throw new Error(`tensor leak${what}: ${before} tensors before, ${after} after (+${leaked}, ${options.allowed ?? 0} allowed)`);
  }
  return result;
}

export { tf };
