/**
 * Browser entry of the built-in wasm binaries test, bundled with the package's build step
 * (scripts/embed-wasm.mjs): the automatic choice with no `wasmPaths`, an explicit `wasmPaths`, and threads.
 */
import { selectBackend, type BackendInfo } from '../../../src/index';

declare global {
  interface Window {
    /** `selectBackend()` measuring a small workload, uncached. */
    autoWasm: () => Promise<BackendInfo>;
    /** `selectBackend('wasm', { wasmPaths })`. */
    wasmAt: (wasmPaths: string) => Promise<BackendInfo>;
    /** `selectBackend('wasm', { wasmThreads })` with the built-in binaries; the info and the warnings given. */
    wasmThreadsEmbedded: (wasmThreads: number) => Promise<{ info: BackendInfo; warnings: string[] }>;
  }
}

window.autoWasm = () => selectBackend('auto', { cache: false, probe: { width: 64, height: 64 }, onWarning: () => undefined });
window.wasmAt = (wasmPaths) => selectBackend('wasm', { wasmPaths, onWarning: () => undefined });
window.wasmThreadsEmbedded = async (wasmThreads) => {
  const warnings: string[] = [];
  const info = await selectBackend('wasm', { wasmThreads, onWarning: (m) => warnings.push(m) });
  return { info, warnings };
};
