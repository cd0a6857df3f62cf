/**
 * GPU export of a frame: a render pass draws a float32 `[H, W, 3]` storage buffer (a tensor's
 * `dataToGPU()` buffer) onto an `OffscreenCanvas` with a 'webgpu' context, and a `VideoFrame` is made
 * from that canvas. The pixels stay on the GPU; only a 4-byte flag comes back: whether any value
 * drawn was NaN or infinite.
 */
import { perDevice } from './device.js';

/**
 * A full-screen triangle; each fragment reads its pixel from the buffer (same layout as the import
 * pass: `src[(y * width + x) * 3 + c]`), clamps to [0, 1] and writes it opaque. A value whose
 * exponent bits are all ones (NaN or infinity; tested on the bits, as WGSL may assume floats finite)
 * sets `flags`.
 */
export const EXPORT_FRAME_WGSL = /* wgsl */ `
struct Params { width: u32, height: u32 }
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read_write> flags: atomic<u32>;

@vertex
fn vs(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
  var p = array<vec2<f32>, 3>(vec2<f32>(-1.0, -1.0), vec2<f32>(3.0, -1.0), vec2<f32>(-1.0, 3.0));
  return vec4<f32>(p[i], 0.0, 1.0);
}

fn nonFinite(v: vec3<f32>) -> bool {
  let e = bitcast<vec3<u32>>(v) & vec3<u32>(0x7f800000u);
  return any(e == vec3<u32>(0x7f800000u));
}

@fragment
fn fs(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
  let x = min(u32(pos.x), params.width - 1u);
  let y = min(u32(pos.y), params.height - 1u);
  let i = (y * params.width + x) * 3u;
  let v = vec3<f32>(src[i], src[i + 1u], src[i + 2u]);
  if (nonFinite(v)) { atomicOr(&flags, 1u); }
  let rgb = clamp(v, vec3<f32>(0.0), vec3<f32>(1.0));
  return vec4<f32>(rgb, 1.0);
}
`;

const UNIFORM_USAGE = 0x40 | 0x08;
/** STORAGE | COPY_SRC | COPY_DST, and MAP_READ | COPY_DST (literal flags: see import-frame.ts). */
const FLAG_USAGE = 0x80 | 0x04 | 0x08;
const READBACK_USAGE = 0x01 | 0x08;
const MAP_READ = 0x01;

/** What {@link FrameExporter.export} returns. */
export interface ExportedFrame {
  /** The new frame (the caller owns it). */
  readonly frame: VideoFrame;
  /**
   * Resolves once the GPU has drawn the frame: true when every value drawn was finite. Rejects when
   * the flag cannot be read (a lost device).
   */
  readonly finite: Promise<boolean>;
}

/** Turns float RGB storage buffers into `VideoFrame`s through a WebGPU canvas, on one device. */
export class FrameExporter {
  private readonly format: GPUTextureFormat;
  private readonly pipeline: GPURenderPipeline;
  private readonly canvas = new OffscreenCanvas(1, 1);
  private readonly context: GPUCanvasContext;
  private readonly params: GPUBuffer;
  private readonly flags: GPUBuffer;
  /** 4-byte buffers to read the flag of a frame, free for reuse (one per frame in flight). */
  private readonly readbacks: GPUBuffer[] = [];
  private size = '';

  constructor(private readonly device: GPUDevice) {
    this.format = navigator.gpu.getPreferredCanvasFormat();
    const module = device.createShaderModule({ label: 'simpleir export-frame', code: EXPORT_FRAME_WGSL });
    this.pipeline = device.createRenderPipeline({
      label: 'simpleir export-frame',
      layout: 'auto',
      vertex: { module, entryPoint: 'vs' },
      fragment: { module, entryPoint: 'fs', targets: [{ format: this.format }] },
      primitive: { topology: 'triangle-list' },
    });
    const context = this.canvas.getContext('webgpu');
    if (!context) throw new Error("OffscreenCanvas.getContext('webgpu') returned null");
    this.context = context;
    this.params = device.createBuffer({ label: 'simpleir export-frame params', size: 8, usage: UNIFORM_USAGE });
    this.flags = device.createBuffer({ label: 'simpleir export-frame flags', size: 4, usage: FLAG_USAGE });
  }

  /**
   * Draws `buffer` (`[height, width, 3]` float32) and returns a new `VideoFrame` of it, with a promise
   * of whether its values were all finite. The draw is submitted before the frame is made, so the
   * buffer may be released (and reused by tfjs) right after. The flag is cleared, set by the draw and
   * copied out in queue order, so frames in flight do not see each other's flags.
   */
  export(buffer: GPUBuffer, width: number, height: number, init: VideoFrameInit): ExportedFrame {
    this.resize(width, height);
    const bindGroup = this.device.createBindGroup({
      layout: this.pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer } },
        { binding: 1, resource: { buffer: this.params } },
        { binding: 2, resource: { buffer: this.flags } },
      ],
    });
    const readback = this.readbacks.pop() ?? this.device.createBuffer({ label: 'simpleir export-frame flag readback', size: 4, usage: READBACK_USAGE });
    this.device.queue.writeBuffer(this.flags, 0, new Uint32Array([0]));
    const encoder = this.device.createCommandEncoder({ label: 'simpleir export-frame' });
    const pass = encoder.beginRenderPass({
      colorAttachments: [{ view: this.context.getCurrentTexture().createView(), loadOp: 'clear', storeOp: 'store', clearValue: { r: 0, g: 0, b: 0, a: 1 } }],
    });
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.draw(3);
    pass.end();
    encoder.copyBufferToBuffer(this.flags, 0, readback, 0, 4);
    this.device.queue.submit([encoder.finish()]);
    const frame = new VideoFrame(this.canvas, init);
    // Mapping waits for the copy, i.e. for the draw: the same wait as onSubmittedWorkDone().
    const finite = readback.mapAsync(MAP_READ).then(() => {
      const value = new Uint32Array(readback.getMappedRange())[0];
      readback.unmap();
      this.readbacks.push(readback);
      return value === 0;
    });
    return { frame, finite };
  }

  private resize(width: number, height: number): void {
    const key = `${width}x${height}`;
    if (key === this.size) return;
    this.canvas.width = width;
    this.canvas.height = height;
    this.context.configure({ device: this.device, format: this.format, alphaMode: 'opaque' });
    this.device.queue.writeBuffer(this.params, 0, new Uint32Array([width, height]));
    this.size = key;
  }
}

/** The exporter of a device (one per device, kept while the device lives). */
export const frameExporter = perDevice((device) => new FrameExporter(device));
