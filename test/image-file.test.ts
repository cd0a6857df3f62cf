/** Tests of the image type, of image files read and written with sharp, and of the photo-set loader. */

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { isSimpleIRError } from '../src/core/errors.js';
import { rgbaToRgb, rgbToRgba, validateImage, type RGBImage } from '../src/core/image.js';
import { listImages, readImage, writeImage } from '../src/adapters/node/image-file.js';
import { loadPhotoSet } from '../src/training/photos.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'simpleir-image-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function rejectsWith(code: string, pattern?: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(isSimpleIRError(e), `expected a SimpleIRError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (pattern) assert.match(e.message, pattern);
    return true;
  };
}

/** A smooth colour gradient (JPEG-friendly), odd-sized. */
function gradient(w: number, h: number, channels: 3 | 4 = 3): RGBImage {
  const data = new Uint8Array(w * h * channels);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * channels;
      data[i] = Math.round((x / (w - 1)) * 255);
      data[i + 1] = Math.round((y / (h - 1)) * 255);
      data[i + 2] = 128;
      if (channels === 4) data[i + 3] = (x * 9) & 255;
    }
  }
  return { data, width: w, height: h, channels };
}

describe('RGBImage', () => {
  test('validateImage accepts good images and explains bad ones', () => {
    const good = gradient(3, 2);
    assert.equal(validateImage(good), good);
    validateImage({ data: new Uint8ClampedArray(16), width: 2, height: 2, channels: 4 });
    const cases: [unknown, RegExp][] = [
      [{ ...good, data: new Uint8Array(17) }, /data has 17 bytes but 3x2x3 needs 18/],
      [{ ...good, width: 0 }, /width must be a positive integer, got 0/],
      [{ ...good, height: 1.5 }, /height must be a positive integer, got 1.5/],
      [{ ...good, width: Number.NaN }, /width must be a positive integer, got NaN/],
      [{ ...good, channels: 1 }, /channels must be 3 or 4, got 1/],
      [{ ...good, data: new Float32Array(18) }, /data must be a Uint8Array or Uint8ClampedArray, got Float32Array/],
      [{ ...good, data: [1, 2, 3] }, /got Array/],
      [null, /expected an image object, got null/],
    ];
    for (const [img, pattern] of cases) assert.throws(() => validateImage(img as RGBImage), rejectsWith('INVALID_IMAGE', pattern));
  });

  test('rgbToRgba and rgbaToRgb', () => {
    const rgb: RGBImage = { data: new Uint8Array([1, 2, 3, 4, 5, 6]), width: 2, height: 1, channels: 3 };
    const rgba = rgbToRgba(rgb);
    assert.deepEqual([...rgba.data], [1, 2, 3, 255, 4, 5, 6, 255]);
    assert.equal(rgba.channels, 4);
    assert.deepEqual(rgbaToRgb(rgba), rgb);
    assert.equal(rgbaToRgb(rgb), rgb);
    assert.equal(rgbToRgba(rgba), rgba);
  });
});

describe('image files', () => {
  test('PNG round trip is exact, RGB and RGBA', async () => {
    for (const channels of [3, 4] as const) {
      const img = gradient(37, 21, channels);
      const path = join(dir, `rt${channels}.png`);
      await writeImage(path, img);
      assert.deepEqual(await readImage(path, { channels }), img);
    }
  });

  test('JPEG and WebP round trips stay within a tolerance; quality is honoured', async () => {
    const img = gradient(64, 48);
    for (const [ext, tolerance] of [['jpg', 4], ['jpeg', 4], ['webp', 6]] as const) {
      const path = join(dir, `rt.${ext}`);
      await writeImage(path, img, { quality: 95 });
      const back = await readImage(path);
      assert.equal(back.width, 64);
      assert.equal(back.height, 48);
      assert.equal(back.channels, 3);
      let sum = 0;
      img.data.forEach((v, i) => (sum += Math.abs(v - back.data[i]!)));
      assert.ok(sum / img.data.length < tolerance, `${ext}: mean error ${sum / img.data.length}`);
    }
    const noisy: RGBImage = { ...img, data: img.data.map((v, i) => (v + ((i * 2654435761) >>> 27)) & 255) };
    await writeImage(join(dir, 'q10.jpg'), noisy, { quality: 10 });
    await writeImage(join(dir, 'q95.jpg'), noisy, { quality: 95 });
    const small = (await stat(join(dir, 'q10.jpg'))).size;
    const large = (await stat(join(dir, 'q95.jpg'))).size;
    assert.ok(small < large, `quality 10 gives ${small} bytes, 95 gives ${large}`);
  });

  test('RGBA written as JPEG loses alpha; RGB read with channels 4 gets opaque alpha', async () => {
    const path = join(dir, 'alpha.jpg');
    await writeImage(path, gradient(8, 8, 4));
    const back = await readImage(path, { channels: 4 });
    assert.equal(back.channels, 4);
    for (let i = 3; i < back.data.length; i += 4) assert.equal(back.data[i], 255);
  });

  test('grayscale, gray+alpha, 16-bit and EXIF-rotated inputs become 8-bit RGB', async () => {
    const gray = join(dir, 'gray.png');
    await sharp(Buffer.from([0, 100, 200, 255]), { raw: { width: 2, height: 2, channels: 1 } }).png().toFile(gray);
    const g = await readImage(gray);
    assert.deepEqual([...g.data], [0, 0, 0, 100, 100, 100, 200, 200, 200, 255, 255, 255]);

    const grayAlpha = join(dir, 'gray-alpha.png');
    await sharp(Buffer.from([10, 128, 200, 255]), { raw: { width: 2, height: 1, channels: 2 } }).png().toFile(grayAlpha);
    assert.deepEqual([...(await readImage(grayAlpha, { channels: 4 })).data], [10, 10, 10, 128, 200, 200, 200, 255]);
    assert.deepEqual([...(await readImage(grayAlpha)).data], [10, 10, 10, 200, 200, 200]);

    const deep = join(dir, 'deep.png');
    const px16 = new Uint16Array([65535, 0, 0, 0, 65535, 0, 32896, 32896, 32896, 257 * 200, 257 * 100, 257 * 50]);
    await sharp(px16, { raw: { width: 4, height: 1, channels: 3 } }).toColourspace('rgb16').png().toFile(deep);
    assert.equal((await sharp(deep).metadata()).depth, 'ushort');
    assert.deepEqual([...(await readImage(deep)).data], [255, 0, 0, 0, 255, 0, 128, 128, 128, 200, 100, 50]);

    // Orientation 6: stored 3 wide, 2 high; shown rotated 90 degrees clockwise, 2 wide, 3 high.
    const rotated = join(dir, 'rotated.jpg');
    await sharp(gradient(30, 20).data, { raw: { width: 30, height: 20, channels: 3 } }).withMetadata({ orientation: 6 }).jpeg().toFile(rotated);
    const r = await readImage(rotated);
    assert.deepEqual([r.width, r.height], [20, 30]);
  });

  test('missing, corrupt and unsupported files', async () => {
    await assert.rejects(readImage(join(dir, 'missing.png')), rejectsWith('IO_ERROR', /file not found: .*missing\.png/));
    await assert.rejects(readImage(dir), rejectsWith('IO_ERROR', /not a file/));

    const png = join(dir, 'whole.png');
    await writeImage(png, gradient(50, 40));
    const bytes = (await sharp(png).toBuffer()).subarray(0, 200);
    await writeFile(join(dir, 'cut.png'), bytes);
    await assert.rejects(readImage(join(dir, 'cut.png')), rejectsWith('CORRUPT_INPUT', /cut\.png/));
    await writeFile(join(dir, 'junk.jpg'), Buffer.from('this is not a jpeg at all'));
    await assert.rejects(readImage(join(dir, 'junk.jpg')), rejectsWith('CORRUPT_INPUT', /junk\.jpg/));
    const jpg = join(dir, 'whole.jpg');
    await writeImage(jpg, gradient(64, 64));
    const jpgBytes = await sharp(jpg).toBuffer();
    await writeFile(join(dir, 'cut.jpg'), jpgBytes.subarray(0, Math.floor(jpgBytes.length / 2)));
    await assert.rejects(readImage(join(dir, 'cut.jpg')), rejectsWith('CORRUPT_INPUT'));

    await writeFile(join(dir, 'notes.txt'), 'hello');
    await assert.rejects(readImage(join(dir, 'notes.txt')), rejectsWith('UNSUPPORTED_FORMAT', /PNG .*JPEG .*WebP/));
    const gif = join(dir, 'anim.gif');
    await sharp({ create: { width: 4, height: 4, channels: 3, background: '#f00' } }).gif().toFile(gif);
    await assert.rejects(readImage(gif), rejectsWith('UNSUPPORTED_FORMAT', /gif images are not supported/));

    await assert.rejects(writeImage(join(dir, 'out.bmp'), gradient(4, 4)), rejectsWith('UNSUPPORTED_FORMAT', /'\.bmp'.*PNG \(\.png\), JPEG \(\.jpg, \.jpeg\), WebP/));
    await assert.rejects(writeImage(join(dir, 'out'), gradient(4, 4)), rejectsWith('UNSUPPORTED_FORMAT', /\(none\)/));
    await assert.rejects(writeImage(join(dir, 'bad.png'), { ...gradient(4, 4), width: 5 }), rejectsWith('INVALID_IMAGE'));
    await assert.rejects(writeImage(join(dir, 'q.jpg'), gradient(4, 4), { quality: 0 }), rejectsWith('INVALID_ARGUMENT'));
    await assert.rejects(writeImage(join(png, 'inside-a-file.png'), gradient(4, 4)), rejectsWith('IO_ERROR'));
  });

  test('writeImage creates missing folders; content decides the read format', async () => {
    const path = join(dir, 'deep', 'er', 'x.png');
    await writeImage(path, gradient(5, 5));
    const misnamed = join(dir, 'actually-png.jpg');
    await writeFile(misnamed, await sharp(path).png().toBuffer());
    assert.deepEqual(await readImage(misnamed), gradient(5, 5));
  });
});

describe('photo sets', () => {
  test('listImages: recursive, sorted, images only, hidden skipped, links to files kept', async () => {
    const root = join(dir, 'photos-list');
    await mkdir(join(root, 'b', 'c'), { recursive: true });
    await mkdir(join(root, '.hidden'), { recursive: true });
    const files = ['z.png', 'a.JPG', 'b/c/d.webp', 'b/e.jpeg', 'b/skip.txt', '.hidden/h.png', '.dot.png'];
    for (const f of files) await writeFile(join(root, f), '');
    await symlink(join(root, 'z.png'), join(root, 'link.png'));
    assert.deepEqual(await listImages(root), ['a.JPG', 'b/c/d.webp', 'b/e.jpeg', 'link.png', 'z.png'].map((f) => join(root, f)));
    await assert.rejects(listImages(join(root, 'nope')), rejectsWith('IO_ERROR', /folder not found/));
    await assert.rejects(listImages(join(root, 'z.png')), rejectsWith('IO_ERROR', /not a folder/));
  });

  test('loadPhotoSet reads the manifest and says how to fetch a missing set', async () => {
    const root = join(dir, 'set');
    await assert.rejects(loadPhotoSet(root), rejectsWith('IO_ERROR', /npm run fetch-photos/));
    await mkdir(join(root, 'train'), { recursive: true });
    await mkdir(join(root, 'val'), { recursive: true });
    const photos = [
      { name: 'b', file: 'train/b.png', source: 'pkg', split: 'train', width: 5, height: 5 },
      { name: 'a', file: 'train/a.png', source: 'pkg', split: 'train', width: 5, height: 5, licence: 'CC0' },
      { name: 'v', file: 'val/v.png', source: 'pkg', split: 'val', width: 5, height: 5 },
    ];
    for (const p of photos) await writeImage(join(root, p.file), gradient(5, 5));
    await writeFile(join(root, 'manifest.json'), JSON.stringify({ version: 1, photos }));
    const set = await loadPhotoSet(root);
    assert.equal(set.root, root);
    assert.deepEqual(set.train, [join(root, 'train/a.png'), join(root, 'train/b.png')]);
    assert.deepEqual(set.val, [join(root, 'val/v.png')]);
    assert.equal(set.photos[1]!.licence, 'CC0');
    assert.equal(set.photos[0]!.licence, undefined);

    await rm(join(root, 'val/v.png'));
    await assert.rejects(loadPhotoSet(root), rejectsWith('IO_ERROR', /lacks 1 of its 3 files .*npm run fetch-photos/));
    await writeFile(join(root, 'manifest.json'), '{ nope');
    await assert.rejects(loadPhotoSet(root), rejectsWith('CORRUPT_INPUT', /npm run fetch-photos/));
    await writeFile(join(root, 'manifest.json'), JSON.stringify({ photos: [{ name: 'x', file: 'x.png', split: 'test' }] }));
    await assert.rejects(loadPhotoSet(root), rejectsWith('CORRUPT_INPUT', /entry 0/));
  });

  test('the fetched photo set, when present, has a held-out val split of large RGB photographs', async (t) => {
    let set;
    try {
      set = await loadPhotoSet();
    } catch (e) {
      t.skip(`no fetched photo set: ${(e as Error).message}`);
      return;
    }
    assert.ok(set.val.length >= 3 && set.train.length >= 10);
    const val = set.photos.filter((p) => p.split === 'val');
    for (const p of val) assert.ok(p.width >= 1920 && p.height >= 1080, `${p.name} is ${p.width}x${p.height}`);
    const trainNames = new Set(set.photos.filter((p) => p.split === 'train').map((p) => p.name));
    for (const p of val) assert.ok(!trainNames.has(p.name), `${p.name} is in both splits`);
    const first = await readImage(set.val[0]!);
    assert.equal(first.channels, 3);
  });
});
