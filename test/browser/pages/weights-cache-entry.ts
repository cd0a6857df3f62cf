/**
 * Browser entry of the weights cache test: `SimpleIR.load('tiny', { weightsBaseUrl, cache })` from the
 * test server, returning a digest of the loaded weights so that cached and fetched loads can be compared.
 */
import { DEFAULT_WEIGHTS_CACHE, SimpleIR, selectBackend } from '../../../src/index';

declare global {
  interface Window {
    loadWeights: (options: { cache?: boolean | string }) => Promise<{ sum: number; count: number; error?: string; code?: string }>;
    cachedUrls: (name?: string) => Promise<string[]>;
  }
}

window.loadWeights = async (options) => {
  await selectBackend('cpu');
  try {
    const model = await SimpleIR.load('tiny', { weightsBaseUrl: '/weights/', ...options });
    let sum = 0;
    let count = 0;
    for (const values of model.getWeights().values()) {
      for (const v of values) sum += Math.abs(v);
      count += values.length;
    }
    model.dispose();
    return { sum, count };
  } catch (e) {
    return { sum: 0, count: 0, error: (e as Error).message, code: (e as { code?: string }).code };
  }
};

window.cachedUrls = async (name = DEFAULT_WEIGHTS_CACHE) => {
  if (!(await caches.has(name))) return [];
  const cache = await caches.open(name);
  return (await cache.keys()).map((r) => new URL(r.url).pathname).sort();
};
