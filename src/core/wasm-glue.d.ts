/** Types of the JS glue of tfjs-backend-wasm's threaded binary (a CommonJS module exporting its Emscripten factory). */
declare module '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js' {
  /** The Emscripten module factory; tfjs starts the binary's worker threads from its source text (`toString()`). */
  const factory: (config?: object) => Promise<unknown>;
  export default factory;
}
