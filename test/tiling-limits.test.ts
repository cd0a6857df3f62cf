/**
 * Tile sizes from a WebGPU device's limits (`webgpuMaxPixels`, `webgpuTileSize`, `resolveTiling` with
 * limits, `checkFitsInWebGPU`) for several limit sets: what usual adapters report, the WebGPU
 * specification's defaults, a device with small buffers, few workgroups per dimension, and a wide
 * detail branch. The browser side (the real device's limits, a tiled restore on webgpu against an
 * untiled one) is test/browser/tiling-webgpu.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PRESETS, fullResReceptiveRadius, type SimpleIRConfig } from '../src/core/config';
import { AUTO_TILE_SIZE, axisTilePlan, checkFitsInWebGPU, resolveTiling, webgpuMaxPixels, webgpuTileSize, WEBGPU_ROWS_PER_WORKGROUP, type GpuTileLimits } from '../src/core/model/tiling';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
/** SwiftShader's, and about what desktop adapters report (their buffers are larger still). */
const USUAL: GpuTileLimits = { maxComputeWorkgroupsPerDimension: 65535, maxStorageBufferBindingSize: GiB, maxBufferSize: GiB };
/** The WebGPU specification's defaults: what a device gets when nothing larger is asked for. */
const SPEC_DEFAULT: GpuTileLimits = { maxComputeWorkgroupsPerDimension: 65535, maxStorageBufferBindingSize: 128 * MiB, maxBufferSize: 256 * MiB };
/** Buffers that still hold a 1080p RGB frame in float32 (24.9 MB), but not a 1080p map of 4 channels. */
const SMALL_BUFFERS: GpuTileLimits = { maxComputeWorkgroupsPerDimension: 65535, maxStorageBufferBindingSize: 24 * MiB, maxBufferSize: 256 * MiB };
const FEW_WORKGROUPS: GpuTileLimits = { maxComputeWorkgroupsPerDimension: 8192, maxStorageBufferBindingSize: GiB, maxBufferSize: GiB };
const { tiny, base } = PRESETS;
const wide: SimpleIRConfig = { ...tiny, detailWidth: 64 };

/** Tiles of a padded frame as `resolveTiling` and `axisTilePlan` cut it. */
function tileCount(config: SimpleIRConfig, h: number, w: number, limits?: GpuTileLimits): number {
  const { tileSize, overlap } = resolveTiling(config, h, w, {}, limits);
  if (tileSize === 0) return 1;
  const r = fullResReceptiveRadius(config);
  return axisTilePlan(h, tileSize, overlap, r, config.scale).starts.length * axisTilePlan(w, tileSize, overlap, r, config.scale).starts.length;
}

describe('webgpuMaxPixels and webgpuTileSize', () => {
  test('usual limits and the specification defaults: the dispatch bounds a pass at 32 x 65535 pixels, tiles of 1448', () => {
    assert.equal(WEBGPU_ROWS_PER_WORKGROUP, 32);
    for (const limits of [USUAL, SPEC_DEFAULT]) {
      for (const config of [tiny, base]) {
        assert.equal(webgpuMaxPixels(config, limits), 32 * 65535);
        assert.equal(webgpuTileSize(config, limits), 1448);
      }
    }
    assert.ok(1448 ** 2 <= 32 * 65535 && 1452 ** 2 > 32 * 65535);
  });

  test('small buffers bound the pass by its widest map: detailWidth channels of float32', () => {
    assert.equal(webgpuMaxPixels(tiny, SMALL_BUFFERS), (24 * MiB) / (4 * 4));
    assert.equal(webgpuTileSize(tiny, SMALL_BUFFERS), 1252);
    assert.equal(webgpuMaxPixels(base, SMALL_BUFFERS), (24 * MiB) / (4 * 8));
    assert.equal(webgpuTileSize(base, SMALL_BUFFERS), 884);
    // The smaller of the two buffer limits counts.
    assert.equal(webgpuTileSize(tiny, { ...SMALL_BUFFERS, maxStorageBufferBindingSize: GiB, maxBufferSize: 24 * MiB }), 1252);
  });

  test('few workgroups per dimension bound it too; a wide detail branch needs larger buffers', () => {
    assert.equal(webgpuMaxPixels(tiny, FEW_WORKGROUPS), 32 * 8192);
    assert.equal(webgpuTileSize(tiny, FEW_WORKGROUPS), 512);
    assert.equal(webgpuTileSize(wide, USUAL), 1448);
    assert.equal(webgpuMaxPixels(wide, SPEC_DEFAULT), (128 * MiB) / (4 * 64));
    assert.equal(webgpuTileSize(wide, SPEC_DEFAULT), 724);
  });

  test('the side is a multiple of the scale, and its square fits', () => {
    for (const scale of [1, 2, 3, 4, 8]) {
      for (const limits of [USUAL, SPEC_DEFAULT, SMALL_BUFFERS, FEW_WORKGROUPS]) {
        const config = { ...tiny, scale };
        const t = webgpuTileSize(config, limits);
        assert.equal(t % scale, 0);
        assert.ok(t * t <= webgpuMaxPixels(config, limits));
        assert.ok((t + scale) ** 2 > webgpuMaxPixels(config, limits), `${t} is not the largest for scale ${scale}`);
      }
    }
  });
});

describe("resolveTiling 'auto' with a device's limits", () => {
  test('4K: 6 tiles of up to 1448 pixels on webgpu instead of 40 of 512', () => {
    assert.equal(resolveTiling(tiny, 2160, 3840, {}, USUAL).tileSize, 1448);
    assert.equal(tileCount(tiny, 2160, 3840, USUAL), 6);
    assert.equal(tileCount(base, 2160, 3840, USUAL), 6);
    assert.equal(resolveTiling(tiny, 2160, 3840).tileSize, AUTO_TILE_SIZE, 'without limits (wasm, webgl, cpu): 512 as before');
    assert.equal(tileCount(tiny, 2160, 3840), 40);
  });

  test('a frame that fits one pass runs untiled; past it, tiles; an explicit choice wins', () => {
    assert.equal(resolveTiling(tiny, 1080, 1920, {}, USUAL).tileSize, 0);
    assert.equal(resolveTiling(tiny, 1448, 1448, {}, USUAL).tileSize, 0);
    assert.equal(resolveTiling(tiny, 1452, 1448, {}, USUAL).tileSize, 1448);
    assert.equal(resolveTiling(tiny, 1080, 1920, {}, SMALL_BUFFERS).tileSize, 1252, "1080p's 4-channel maps are past 24 MiB buffers");
    assert.equal(tileCount(tiny, 1080, 1920, SMALL_BUFFERS), 2);
    assert.equal(resolveTiling(tiny, 1080, 1920, {}, FEW_WORKGROUPS).tileSize, 512);
    assert.equal(resolveTiling(tiny, 2160, 3840, { tileSize: 512 }, USUAL).tileSize, 512);
    assert.equal(resolveTiling(tiny, 2160, 3840, { tileSize: 0 }, USUAL).tileSize, 0);
  });
});

describe('checkFitsInWebGPU', () => {
  test('refuses an untiled frame or tiles past the limits, naming the tile size that fits', () => {
    assert.throws(
      () => checkFitsInWebGPU(tiny, 2160, 3840, 0, USUAL),
      (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT' && /tileSize: 0 \(no tiling\) at 3840x2160/.test(e.message) && /tiles of 1448 here/.test(e.message),
    );
    assert.throws(() => checkFitsInWebGPU(tiny, 2160, 3840, 2048, USUAL), (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT' && /at most 1448/.test(e.message));
    assert.throws(() => checkFitsInWebGPU(tiny, 1080, 1920, 0, SMALL_BUFFERS), /tiles of 1252 here/);
    checkFitsInWebGPU(tiny, 1080, 1920, 1252, SMALL_BUFFERS);
    checkFitsInWebGPU(tiny, 2160, 3840, 1448, USUAL);
    checkFitsInWebGPU(tiny, 1080, 1920, 0, USUAL);
    checkFitsInWebGPU(tiny, 2160, 3840, 2048, { ...USUAL, maxComputeWorkgroupsPerDimension: 4 * 65535 });
  });

  test('a batch runs untiled as one pass: its maps are as many times larger', () => {
    // 1080p, tiny: 33.2 MB per 4-channel map; 256 MiB buffers hold eight frames' worth.
    const big = { ...USUAL, maxStorageBufferBindingSize: 256 * MiB };
    checkFitsInWebGPU(tiny, 1080, 1920, 0, big, 8);
    assert.throws(() => checkFitsInWebGPU(tiny, 1080, 1920, 0, big, 9), /tileSize: 0 \(no tiling\) at 1920x1080 with a batch of 9 is one pass/);
    checkFitsInWebGPU(tiny, 1080, 1920, 1448, big, 9); // tiled: frame by frame
    // 'auto' tiles such a batch (with the tiles of one frame), and leaves a batch that fits untiled.
    assert.equal(resolveTiling(tiny, 1080, 1920, {}, big, 8).tileSize, 0);
    assert.equal(resolveTiling(tiny, 1080, 1920, {}, big, 9).tileSize, 1448);
  });

  test('refuses a frame whose untiled low-resolution body is past the limits, tiled or not', () => {
    checkFitsInWebGPU(tiny, 4320, 7680, 1448, USUAL); // 8K: 1920x1080 cells
    assert.throws(() => checkFitsInWebGPU(tiny, 4320, 8192, 1448, USUAL), /even tiled/);
    // base's body has 64-channel maps (2 x width): 1080p's 129600 cells need 33.2 MB buffers, past 24 MiB; tiny's widest body map is its 48-channel input.
    assert.throws(() => checkFitsInWebGPU(base, 1080, 1920, 256, SMALL_BUFFERS), /even tiled.*129600 cells; at most 98304 here/);
    checkFitsInWebGPU(tiny, 1080, 1920, 256, SMALL_BUFFERS);
  });
});
