/**
 * simpleir-stream/worker: the module worker that `loadWorkerModel` (simpleir-stream/browser) starts with
 * `new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })`. It owns the backend, the
 * model and its online learner; apps do not import it themselves (bundlers emit it from that line).
 */
import { serveModel, type WorkerScope } from './adapters/browser/worker/host.js';

serveModel(globalThis as unknown as WorkerScope);
