/**
 * A model worker that crashes (an uncaught error) when the third frame arrives: worker.test.ts checks
 * that the page's stream fails with WORKER_FAILED and that no frame is left open.
 */
import { serveModel, type WorkerScope } from '../../../src/adapters/browser/worker/host';

serveModel(globalThis as unknown as WorkerScope);
let frames = 0;
globalThis.addEventListener('message', (e: MessageEvent<{ t?: string }>) => {
  if (e.data?.t === 'restore' && ++frames === 3) {
    setTimeout(() => {
      throw new Error('simulated crash of the model worker');
    });
  }
});
