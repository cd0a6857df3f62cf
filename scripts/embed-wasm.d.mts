/** Types of scripts/embed-wasm.mjs (the build step that embeds the wasm backend's binaries). */
import type { Plugin } from 'esbuild';

/** The binaries tfjs-backend-wasm 4.x loads: plain, SIMD, SIMD with threads. */
export declare const WASM_BINARY_NAMES: readonly string[];
/** Where the installed @tensorflow/tfjs-backend-wasm is (from `fromDir`), its version and its dist folder. */
export declare function installedWasmBackend(fromDir?: string): { version: string; dist: string };
/** The text that replaces src/core/wasm-binaries.ts: the version, and one literal `import()` per binary. */
export declare function wasmBinariesModule(version: string): string;
/** The chunk of one binary: its bytes in base64. */
export declare function wasmBinaryChunk(bytes: Uint8Array): string;
/** The esbuild plugin (tsup's `esbuildPlugins`) that builds the binaries into the package. */
export declare function embedWasmPlugin(projectDir?: string): Plugin;
