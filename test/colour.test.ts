/**
 * One colour module (src/core/colour.ts) behind both YCbCr -> RGB paths: the y4m path (`yuv420ToRgb`,
 * Node) and the browser's CPU read of a VideoFrame (`readFramePixels`, fed here the same I420 planes
 * through a stand-in frame with the same `copyTo` layout) give the same RGB for each matrix and range,
 * on a clip made by ffmpeg; the coefficients and gamut matrices give the standard values; the GPU
 * shader's sRGB code is generated from the same constants.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readFramePixels } from '../src/adapters/browser/frames/frame-pixels.js';
import { readY4m, yuv420ToRgb, yuvOptionsOf, type Yuv420Planes } from '../src/adapters/node/y4m.js';
import { SRGB_WGSL, wgslFloat } from '../src/adapters/browser/gpu/colour.js';
import { gamutUndo, matrixOfTag, rgbToXyz, SRGB_CURVE, YUV_MATRICES, YUV_RANGES, yuvCoefficients, type Mat3, type YuvMatrix } from '../src/core/colour.js';
import { isSimpleIRError } from '../src/core/errors.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'simpleir-colour-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The WebCodecs `VideoMatrixCoefficients` name of each matrix. */
const WEBCODECS_MATRIX: Record<YuvMatrix, string> = { bt601: 'smpte170m', bt709: 'bt709', bt2020: 'bt2020-ncl' };

/** A stand-in for an I420 `VideoFrame` holding `planes`: what `readFramePixels` reads of a frame. */
function i420Frame(planes: Yuv420Planes, matrix: string, fullRange: boolean): VideoFrame {
  const { width, height, y, u, v } = planes;
  const cw = Math.ceil(width / 2);
  const bytes = new Uint8Array(y.length + u.length + v.length);
  bytes.set(y, 0);
  bytes.set(u, y.length);
  bytes.set(v, y.length + u.length);
  return {
    format: 'I420',
    codedWidth: width,
    codedHeight: height,
    displayWidth: width,
    displayHeight: height,
    visibleRect: { x: 0, y: 0, width, height },
    colorSpace: { matrix, fullRange, primaries: null, transfer: null },
    allocationSize: () => bytes.length,
    copyTo: async (dest: Uint8Array) => {
      dest.set(bytes);
      return [
        { offset: 0, stride: width },
        { offset: y.length, stride: cw },
        { offset: y.length + u.length, stride: cw },
      ];
    },
  } as unknown as VideoFrame;
}

/**
 * True when pixel (x, y) sees one chroma value in both paths: the y4m path repeats the chroma sample
 * of its 2x2 block, the browser path interpolates the (up to) four samples around the pixel's centre.
 */
function flatChroma(p: Yuv420Planes, x: number, y: number): boolean {
  const cw = Math.ceil(p.width / 2);
  const ch = Math.ceil(p.height / 2);
  const taps = (i: number, m: number): number[] => {
    const c = Math.min(m - 1, Math.max(0, (i + 0.5) / 2 - 0.5));
    return [Math.floor(c), Math.min(m - 1, Math.floor(c) + 1)];
  };
  const own = (y >> 1) * cw + (x >> 1);
  for (const r of taps(y, ch)) {
    for (const c of taps(x, cw)) {
      if (p.u[r * cw + c] !== p.u[own] || p.v[r * cw + c] !== p.v[own]) return false;
    }
  }
  return true;
}

test('the y4m path and the browser VideoFrame path give the same RGB for the same YUV, for each matrix and range', async (t) => {
  const probe = spawnSync('ffmpeg', ['-version']);
  if (probe.error || probe.status !== 0) {
    t.skip('ffmpeg is not installed');
    return;
  }
  const path = join(dir, 'bars.y4m');
  // Colour bars and a test card: saturated flat areas (where both chroma upsamplings agree) and edges.
  const made = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'smptehdbars=size=320x180:rate=1', '-frames:v', '1', '-pix_fmt', 'yuv420p', path]);
  assert.equal(made.status, 0, made.stderr?.toString());
  const reader = await readY4m(path);
  let planes: Yuv420Planes | undefined;
  for await (const f of reader.frames()) planes ??= f;
  assert.ok(planes);
  const { width, height } = planes;
  for (const matrix of YUV_MATRICES) {
    for (const range of YUV_RANGES) {
      const ours = yuv420ToRgb(planes, { matrix, range });
      const browser = await readFramePixels(i420Frame(planes, WEBCODECS_MATRIX[matrix], range === 'full'));
      let compared = 0;
      let worst = 0;
      let saturated = 0;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          if (!flatChroma(planes, x, y)) continue;
          compared++;
          const o = 3 * (y * width + x);
          for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(browser[o + c]! * 255 - ours.data[o + c]!));
          if (Math.max(...ours.data.subarray(o, o + 3)) - Math.min(...ours.data.subarray(o, o + 3)) > 100) saturated++;
        }
      }
      // y4m rounds to 8 bits; the browser path keeps floats: at most half a level apart.
      assert.ok(worst <= 0.5 + 1e-3, `${matrix}/${range}: worst difference ${worst.toFixed(4)} levels over ${compared} pixels`);
      assert.ok(compared > (width * height) / 2 && saturated > 1000, `${matrix}/${range}: ${compared} pixels compared, ${saturated} saturated: the clip should be mostly flat colour`);
    }
  }
});

test('the matrices differ where they should: BT.2020 red is not BT.709 red (both paths would agree on a wrong table)', () => {
  // Limited-range Y 64, Cb 128, Cr 240 (a strong red): R = Y' + 2 (1 - kr) Cr' differs by the matrix.
  const planes: Yuv420Planes = { y: new Uint8Array(4).fill(64), u: new Uint8Array([128]), v: new Uint8Array([240]), width: 2, height: 2 };
  const red = (matrix: YuvMatrix): number[] => [...yuv420ToRgb(planes, { matrix, range: 'limited' }).data.subarray(0, 3)];
  const expect = (kr: number, kb: number): number[] => {
    const yy = ((64 - 16) * 255) / 219;
    const cr = ((240 - 128) * 255) / 224;
    const r = yy + 2 * (1 - kr) * cr;
    const g = yy - ((2 * (1 - kr) * kr) / (1 - kr - kb)) * cr;
    return [r, g, yy].map((v) => Math.min(255, Math.max(0, Math.round(v))));
  };
  assert.deepEqual(red('bt601'), expect(0.299, 0.114));
  assert.deepEqual(red('bt709'), expect(0.2126, 0.0722));
  assert.deepEqual(red('bt2020'), expect(0.2627, 0.0593));
  assert.notDeepEqual(red('bt2020'), red('bt709'));
});

test('coefficients: standard ranges and weights; tags of ffmpeg and WebCodecs name the same matrices; unknown ones are INVALID_ARGUMENT', () => {
  const k = yuvCoefficients('bt709', 'limited');
  assert.deepEqual([k.yOffset, k.yRange, k.cRange], [16, 219, 224]);
  assert.ok(Math.abs(k.kg - 0.7152) < 1e-12 && Math.abs(k.crToR - 1.5748) < 1e-12 && Math.abs(k.cbToB - 1.8556) < 1e-12);
  const full = yuvCoefficients('bt601', 'full');
  assert.deepEqual([full.yOffset, full.yRange, full.cRange, full.yScale, full.cScale], [0, 255, 255, 1, 1]);
  assert.ok(Math.abs(full.cbToG - 0.344136) < 1e-6 && Math.abs(full.crToG - 0.714136) < 1e-6);
  assert.deepEqual(['smpte170m', 'bt470bg', 'fcc', 'bt709', 'bt2020nc', 'bt2020-ncl', 'rgb', null].map(matrixOfTag), ['bt601', 'bt601', 'bt601', 'bt709', 'bt2020', 'bt2020', undefined, undefined]);
  assert.deepEqual(yuvOptionsOf({ space: 'bt2020nc', range: 'tv' }), { matrix: 'bt2020', range: 'limited' });
  assert.throws(() => yuvCoefficients('bt2100' as YuvMatrix, 'limited'), (e: unknown) => isSimpleIRError(e, 'INVALID_ARGUMENT') && /'bt601', 'bt709', 'bt2020'/.test(e.message));
  assert.throws(() => yuvCoefficients('bt709', 'studio' as 'full'), (e: unknown) => isSimpleIRError(e, 'INVALID_ARGUMENT') && /range/.test(e.message));
});

function closeMatrix(got: Mat3 | null, want: number[], tol: number, what: string): void {
  assert.ok(got, `${what}: no matrix`);
  got.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) <= tol, `${what}[${i}]: ${v} vs ${want[i]}`));
}

test('gamut matrices: sRGB to XYZ and BT.709 to BT.2020 primaries give the published values; nothing to undo for BT.709', () => {
  // IEC 61966-2-1 (sRGB) RGB -> XYZ, and ITU-R BT.2087 (BT.709 -> BT.2020 in linear light).
  closeMatrix(rgbToXyz('bt709'), [0.4124, 0.3576, 0.1805, 0.2126, 0.7152, 0.0722, 0.0193, 0.1192, 0.9505], 2e-4, 'rgbToXyz(bt709)');
  closeMatrix(gamutUndo('bt2020'), [0.6274, 0.3293, 0.0433, 0.0691, 0.9195, 0.0114, 0.0164, 0.088, 0.8956], 2e-4, 'gamutUndo(bt2020)');
  assert.equal(gamutUndo('bt709'), null);
  assert.equal(gamutUndo(null), null);
  assert.equal(gamutUndo('xyz'), null);
  assert.throws(() => rgbToXyz('xyz'), (e: unknown) => isSimpleIRError(e, 'INVALID_ARGUMENT') && /bt2020/.test(e.message));
});

test("the shader's sRGB code is generated from the sRGB curve constants, as WGSL float literals", () => {
  assert.deepEqual([wgslFloat(2), wgslFloat(0.055), wgslFloat(1e-7), wgslFloat(-3)], ['2.0', '0.055', '1e-7', '-3.0']);
  assert.throws(() => wgslFloat(NaN), RangeError);
  for (const v of [SRGB_CURVE.offset, 1 + SRGB_CURVE.offset, SRGB_CURVE.exponent, SRGB_CURVE.slope, SRGB_CURVE.encodeBelow, SRGB_CURVE.decodeBelow]) {
    assert.ok(SRGB_WGSL.includes(wgslFloat(v)), `${v} is missing from the WGSL`);
  }
  assert.match(SRGB_WGSL, /fn decode\(v: vec3<f32>\) -> vec3<f32>/);
  assert.match(SRGB_WGSL, /fn encode\(v: vec3<f32>\) -> vec3<f32>/);
});
