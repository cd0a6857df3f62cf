/**
 * GPU import of a video frame: `importExternalTexture` (which converts YUV to RGB per the frame's
 * colour space) and a compute pass that writes the pixels as a float32 `[H, W, 3]` storage buffer.
 */
import { gamutUndo } from '../../../core/colour.js';
import { SRGB_WGSL } from './colour.js';
import { perDevice } from './device.js';

/**
 * One thread per output pixel. The external texture is read at the nearest source pixel, so a frame
 * whose display size differs from its visible size is scaled (nearest) to the display size. When
 * `undo` is set, the gamut step of the import is undone: sRGB-decode, `gamut` (`gamutUndo` of core/colour.ts),
 * sRGB-encode (sign-preserving, as the import leaves out-of-gamut values unclamped).
 * Values are clamped to [0, 1] like 8-bit pixels. Output layout: row-major, RGB interleaved,
 * float32: `dst[(y * width + x) * 3 + c]`.
 */
export const IMPORT_FRAME_WGSL = /* wgsl */ `
struct Params { width: u32, height: u32, undo: u32, gamut: mat3x3<f32> }
@group(0) @binding(0) var src: texture_external;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

${SRGB_WGSL}
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  if (id.x >= params.width || id.y >= params.height) { return; }
  let size = textureDimensions(src);
  let sx = min((id.x * size.x) / params.width, size.x - 1u);
  let sy = min((id.y * size.y) / params.height, size.y - 1u);
  var c = textureLoad(src, vec2<u32>(sx, sy)).rgb;
  if (params.undo != 0u) { c = encode(params.gamut * decode(c)); }
  c = clamp(c, vec3<f32>(0.0), vec3<f32>(1.0));
  let i = (id.y * params.width + id.x) * 3u;
  dst[i] = c.r;
  dst[i + 1u] = c.g;
  dst[i + 2u] = c.b;
}
`;

/**
 * Usage of the buffers handed to `tf.tensor({ buffer })`: STORAGE | COPY_SRC | COPY_DST (tfjs requires
 * the first two, and copies into a buffer of the same usage). Literal flags: `GPUBufferUsage` does not
 * exist where WebGPU is missing, and this module must load there.
 */
export const TENSOR_BUFFER_USAGE = 0x80 | 0x04 | 0x08;
const UNIFORM_USAGE = 0x40 | 0x08;

/** Bytes of `Params`: three u32 and padding (16), then a mat3x3 as three 16-byte columns. */
const PARAMS_BYTES = 64;

function importParams(width: number, height: number, primaries: VideoColorPrimaries | null): ArrayBuffer {
  const bytes = new ArrayBuffer(PARAMS_BYTES);
  const m = gamutUndo(primaries);
  new Uint32Array(bytes, 0, 3).set([width, height, m ? 1 : 0]);
  if (m) {
    const f = new Float32Array(bytes, 16, 12);
    // WGSL matrices are column-major; m is row-major.
    for (let col = 0; col < 3; col++) for (let row = 0; row < 3; row++) f[4 * col + row] = m[3 * row + col]!;
  }
  return bytes;
}

interface Target {
  readonly buffer: GPUBuffer;
  readonly params: GPUBuffer;
}

/** Writes video frames into float RGB storage buffers on one device. */
export class FrameImporter {
  private readonly pipeline: GPUComputePipeline;
  private targets = new Map<string, Target>();

  constructor(private readonly device: GPUDevice) {
    const module = device.createShaderModule({ label: 'simpleir import-frame', code: IMPORT_FRAME_WGSL });
    this.pipeline = device.createComputePipeline({ label: 'simpleir import-frame', layout: 'auto', compute: { module, entryPoint: 'main' } });
  }

  /**
   * Submits the pass that writes `frame` as `[height, width, 3]` float32 into a buffer of this importer
   * and returns that buffer. The buffer is reused by the next call of the same size: copy it (or hand
   * it to `tf.tensor({ buffer })`, which copies it on the queue) before calling again.
   */
  import(frame: VideoFrame, width: number, height: number): GPUBuffer {
    const target = this.target(width, height);
    this.device.queue.writeBuffer(target.params, 0, importParams(width, height, frame.colorSpace.primaries));
    const external = this.device.importExternalTexture({ source: frame });
    const bindGroup = this.device.createBindGroup({
      layout: this.pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: external },
        { binding: 1, resource: { buffer: target.buffer } },
        { binding: 2, resource: { buffer: target.params } },
      ],
    });
    const encoder = this.device.createCommandEncoder({ label: 'simpleir import-frame' });
    const pass = encoder.beginComputePass();
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(Math.ceil(width / 8), Math.ceil(height / 8));
    pass.end();
    this.device.queue.submit([encoder.finish()]);
    return target.buffer;
  }

  /** Frees the buffers. */
  destroy(): void {
    for (const t of this.targets.values()) {
      t.buffer.destroy();
      t.params.destroy();
    }
    this.targets.clear();
  }

  private target(width: number, height: number): Target {
    const key = `${width}x${height}`;
    let t = this.targets.get(key);
    if (!t) {
      // Keep a few sizes at most: a stream has one size; a changing one must not pile buffers up.
      if (this.targets.size >= 4) this.destroy();
      const buffer = this.device.createBuffer({ label: `simpleir frame ${key}`, size: width * height * 3 * 4, usage: TENSOR_BUFFER_USAGE });
      const params = this.device.createBuffer({ label: `simpleir frame ${key} params`, size: PARAMS_BYTES, usage: UNIFORM_USAGE });
      t = { buffer, params };
      this.targets.set(key, t);
    }
    return t;
  }
}

/** The importer of a device (one per device, kept while the device lives). */
export const frameImporter = perDevice((device) => new FrameImporter(device));
