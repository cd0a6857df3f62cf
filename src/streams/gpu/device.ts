/** The GPU device of tfjs's webgpu backend, shared by the frame passes so their buffers are tfjs's buffers. */
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';

/**
 * tfjs's own `GPUDevice` when the active backend is webgpu and the runtime can import video frames
 * (`importExternalTexture`, `OffscreenCanvas`, `VideoFrame`); otherwise null.
 */
export function tfjsFrameDevice(): GPUDevice | null {
  if (tf.getBackend() !== 'webgpu') return null;
  if (typeof VideoFrame === 'undefined' || typeof OffscreenCanvas === 'undefined') return null;
  const device = (tf.backend() as WebGPUBackend).device as GPUDevice | undefined;
  if (!device || typeof device.importExternalTexture !== 'function') return null;
  return device;
}

/** One value per device, made on first use (pipelines, pools). */
export function perDevice<T>(make: (device: GPUDevice) => T): (device: GPUDevice) => T {
  const cache = new WeakMap<GPUDevice, T>();
  return (device) => {
    let v = cache.get(device);
    if (v === undefined) {
      v = make(device);
      cache.set(device, v);
    }
    return v;
  };
}
