/**
 * Browser entry of the built-in wasm binaries test, bundled with the package's build step
 * (scripts/embed-wasm.mjs): the automatic choice with no `wasmPaths`, and an explicit `wasmPaths`.
 */
import { selectBackend, type BackendInfo } from '../../../src/index';

declare global {
  interface Window {
    /** `selectBackend()` measuring a small workload, uncached. */
    autoWasm: () => Promise<BackendInfo>;
    /** `selectBackend('wasm', { wasmPaths })`. */
    wasmAt: (wasmPaths: string) => Promise<BackendInfo>;
  }
}

window.autoWasm = () => selectBackend('auto', { cache: false, probe: { width: 64, height: 64 }, onWarning: () => undefined });
window.wasmAt = (wasmPaths) => selectBackend('wasm', { wasmPaths, onWarning: () => undefined });
