/**
 * Page side of bench/webgpu-f16.ts (also run in Node on Dawn): whether the adapter and tfjs's own WebGPU
 * device offer `shader-f16`, and what `enable f16;` gives on tfjs's device.
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/core/backend';

/** What one runtime reports. */
export interface F16Facts {
  adapter: string;
  fallbackAdapter: boolean;
  adapterHasShaderF16: boolean;
  tfjsDeviceHasShaderF16: boolean;
  /** The validation error of `enable f16;` on tfjs's device, or 'compiled'. */
  enableF16OnTfjsDevice: string;
}

/** Runs in the page and in Node: the facts, through the SDK's backend choice and tfjs's device. */
export async function facts(): Promise<F16Facts> {
  const adapter = (await navigator.gpu.requestAdapter())!;
  const info = (adapter as unknown as { info: { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean } }).info;
  await selectBackend('webgpu', { onWarning: () => undefined });
  const device = (tf.backend() as unknown as { device: GPUDevice }).device;
  device.pushErrorScope('validation');
  device.createShaderModule({ code: 'enable f16;\n@compute @workgroup_size(1) fn main() { let x : f16 = 1.0h; }' });
  const error = await device.popErrorScope();
  return {
    adapter: [info.vendor, info.architecture, info.description].filter(Boolean).join(' '),
    fallbackAdapter: Boolean(info.isFallbackAdapter),
    adapterHasShaderF16: adapter.features.has('shader-f16'),
    tfjsDeviceHasShaderF16: device.features.has('shader-f16'),
    enableF16OnTfjsDevice: error ? error.message.split('\n')[0]! : 'compiled',
  };
}

declare global {
  interface Window {
    f16Facts: () => Promise<F16Facts>;
  }
}

if (typeof window !== 'undefined') window.f16Facts = facts;
