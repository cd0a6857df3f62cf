/** Counting tfjs's CPU readbacks in a test page (the zero-copy path must make none). */
import * as tf from '@tensorflow/tfjs';

/** Starts counting every way tfjs reads tensor data back to the CPU; `restore` stops it. */
export function startReadbackCount(): { counts: Record<string, number>; restore: () => void } {
  const counts: Record<string, number> = {};
  const undo: (() => void)[] = [];
  const wrap = (obj: object, name: string, label: string): void => {
    const target = obj as Record<string, unknown>;
    const original = target[name];
    if (typeof original !== 'function') return;
    counts[label] = 0;
    target[name] = function (this: unknown, ...args: unknown[]) {
      counts[label]!++;
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
    undo.push(() => {
      target[name] = original;
    });
  };
  const proto = tf.Tensor.prototype as unknown as object;
  for (const m of ['dataSync', 'data', 'array', 'arraySync', 'bytes', 'buffer', 'bufferSync']) wrap(proto, m, `Tensor.${m}`);
  const backend = tf.backend() as unknown as object;
  for (const m of ['readSync', 'read', 'getBufferData']) wrap(backend, m, `backend.${m}`);
  return { counts, restore: () => undo.forEach((u) => u()) };
}

/** Counts the readbacks made while `run` runs. */
export async function countReadbacks<T>(run: () => Promise<T>): Promise<{ result: T; counts: Record<string, number> }> {
  const { counts, restore } = startReadbackCount();
  try {
    return { result: await run(), counts };
  } finally {
    restore();
  }
}
