/**
 * The wasm backend's .wasm binaries built into the package, so that browser apps find them with no
 * server or bundler setup. The sources embed none (Node reads them from node_modules; tests pass
 * `wasmPaths`): `npm run build` replaces this module (scripts/embed-wasm.mjs) with one that imports
 * each binary of the installed @tensorflow/tfjs-backend-wasm as a lazy chunk.
 */

/** The binaries @tensorflow/tfjs-backend-wasm chooses from (by SIMD and thread support). */
export type WasmBinaryName = 'tfjs-backend-wasm.wasm' | 'tfjs-backend-wasm-simd.wasm' | 'tfjs-backend-wasm-threaded-simd.wasm';

/** The @tensorflow/tfjs-backend-wasm version the embedded binaries come from; null when none are embedded (the sources). */
export const EMBEDDED_WASM_VERSION: string | null = null;

/** The bytes of binary `name` in base64, imported on first use; null when none are embedded (the sources). */
export function embeddedWasm(name: WasmBinaryName): Promise<string | null> {
  void name;
  return Promise.resolve(null);
}
