/** The GPU device of tfjs's webgpu backend, shared by the frame passes so their buffers are tfjs's buffers; and its loss. */
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { SimpleIRError } from '../../../core/errors.js';

/**
 * tfjs's own `GPUDevice` when the active backend is webgpu and the runtime can import video frames
 * (`importExternalTexture`, `OffscreenCanvas`, `VideoFrame`); otherwise null. A lost device is
 * returned too: {@link assertDeviceAlive} tells.
 */
export function tfjsFrameDevice(): GPUDevice | null {
  const device = tfjsDevice();
  if (!device) return null;
  if (typeof VideoFrame === 'undefined' || typeof OffscreenCanvas === 'undefined') return null;
  if (typeof device.importExternalTexture !== 'function') return null;
  return device;
}

/** tfjs's `GPUDevice` when the active backend is webgpu (watched for loss from now on), else null. */
export function tfjsDevice(): GPUDevice | null {
  if (tf.getBackend() !== 'webgpu') return null;
  const device = (tf.backend() as WebGPUBackend).device as GPUDevice | undefined;
  if (!device) return null;
  watchDevice(device);
  return device;
}

interface Watch {
  /** Set once `device.lost` resolved. */
  info: GPUDeviceLostInfo | null;
  /** Resolves with the loss. */
  readonly lost: Promise<GPUDeviceLostInfo>;
}

const watches = new WeakMap<GPUDevice, Watch>();

function watchDevice(device: GPUDevice): Watch {
  let w = watches.get(device);
  if (!w) {
    const watch: Watch = { info: null, lost: device.lost.then((info) => (watch.info = info)) };
    watches.set(device, watch);
    w = watch;
  }
  return w;
}

/** The `DEVICE_LOST` error for a lost device; says how to go on. */
export function deviceLostError(info: GPUDeviceLostInfo | null, cause?: unknown): SimpleIRError {
  const why = info ? `${info.reason}${info.message ? `: ${info.message}` : ''}` : 'it stopped answering';
  return new SimpleIRError(
    'DEVICE_LOST',
    `the WebGPU device was lost (${why}); the stream stopped. Select a backend again (selectBackend()), load the model again and resubscribe to go on.`,
    { reason: info?.reason ?? 'unknown' },
    cause === undefined ? undefined : { cause },
  );
}

/** Throws `DEVICE_LOST` when `device` is known to be lost. */
export function assertDeviceAlive(device: GPUDevice): void {
  const w = watchDevice(device);
  if (w.info) throw deviceLostError(w.info);
}

/**
 * After a GPU operation failed: the loss of `device` if it is lost or gets lost within `waitMs`, else
 * null. A destroyed device fails pending work (a mapping "unmapped before mapping was resolved")
 * some tasks before its `lost` promise resolves, so the failure alone cannot tell.
 */
export async function lossAfterFailure(device: GPUDevice, waitMs = 1000): Promise<GPUDeviceLostInfo | null> {
  const w = watchDevice(device);
  if (w.info) return w.info;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), waitMs);
  });
  try {
    return await Promise.race([w.lost, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `work`, but rejecting with `DEVICE_LOST` as soon as the device is lost (a lost device may never
 * settle what was queued on it), and turning a rejection into `DEVICE_LOST` when the device is lost
 * by the time it arrives.
 */
export async function unlessLost<T>(device: GPUDevice, work: Promise<T>): Promise<T> {
  const w = watchDevice(device);
  if (w.info) {
    work.catch(() => undefined);
    throw deviceLostError(w.info);
  }
  try {
    return await Promise.race([work, w.lost.then((info) => Promise.reject(deviceLostError(info)))]);
  } catch (e) {
    if (e instanceof SimpleIRError && e.code === 'DEVICE_LOST') throw e;
    const info = await lossAfterFailure(device);
    if (info) throw deviceLostError(info, e);
    throw e;
  }
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
