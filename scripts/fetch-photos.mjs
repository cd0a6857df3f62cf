#!/usr/bin/env node
/**
 * Fetches the clean photographs the project trains and validates on (see /work/shared/data.md)
 * from Debian's archive without installing anything, into `.cache/photos/{train,val}/` with a
 * `manifest.json`. Idempotent: photographs already listed in the manifest and on disk are kept.
 *
 * Usage: node scripts/fetch-photos.mjs [--out DIR]   (default DIR: <repo>/.cache/photos)
 */
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The fixed validation split: never used for training. Chosen large (>= 1920x1080, so 1080p
 * validation frames can be cut without upscaling) and diverse: macro with bokeh and fine
 * detail (LadyBird), dark stormy landscape with sky and road (Storm), low-saturation wood
 * grain texture (Wood), sunset with boats, water and man-made edges (EveningGlow), dark
 * forest with dense foliage (Path).
 */
const VAL = ['LadyBird', 'Storm', 'Wood', 'EveningGlow', 'Path'];

/** Photographs per package: the renders and vector art of those packages are left out. */
const SOURCES = [
  {
    pkg: 'mate-backgrounds',
    prefix: 'mate',
    copyright: 'usr/share/doc/mate-backgrounds/copyright',
    // Every photograph of usr/share/backgrounds/mate/nature/.
    names: ['Aqua', 'Blinds', 'Dune', 'FreshFlower', 'Garden', 'GreenMeadow', 'LadyBird', 'RainDrops', 'Storm', 'TwoWings', 'Wood', 'YellowFlower'],
    locate: (root, name) => firstExisting(root, ['jpg', 'png'].map((e) => `usr/share/backgrounds/mate/nature/${name}.${e}`)),
  },
  {
    pkg: 'plasma-workspace-wallpapers',
    prefix: 'plasma',
    copyright: 'usr/share/doc/plasma-workspace-wallpapers/copyright',
    names: ['BytheWater', 'DarkestHour', 'EveningGlow', 'FallenLeaf', 'Grey', 'Kite', 'OneStandsOut', 'Path', 'ColorfulCups'],
    // Each wallpaper ships several sizes named WxH.jpg: take the largest.
    locate: (root, name) => largestImage(root, `usr/share/wallpapers/${name}/contents/images`),
  },
  {
    pkg: 'python3-skimage',
    prefix: 'skimage',
    copyright: 'usr/share/doc/python3-skimage/copyright',
    // camera, brick, grass and gravel are grayscale: stored as RGB PNG (training only).
    names: ['astronaut', 'coffee', 'chelsea', 'motorcycle_left', 'motorcycle_right', 'rocket', 'camera', 'brick', 'grass', 'gravel'],
    locate: (root, name) => firstExisting(root, ['png', 'jpg'].map((e) => `usr/lib/python3/dist-packages/skimage/data/${name}.${e}`)),
  },
];

/** Licence of the skimage sample images, from skimage/data/_fetchers.py (package: BSD-3-Clause). */
const SKIMAGE_LICENCE = {
  astronaut: 'public domain (NASA)',
  coffee: 'CC0 (Rachel Michetti)',
  chelsea: 'CC0 (Stefan van der Walt)',
  motorcycle_left: 'Middlebury 2014 stereo benchmark (Scharstein et al.), as redistributed by scikit-image',
  motorcycle_right: 'Middlebury 2014 stereo benchmark (Scharstein et al.), as redistributed by scikit-image',
  rocket: 'public domain (SpaceX)',
  camera: 'CC0 (Lav Varshney)',
  brick: 'CC0 (CC0Textures Bricks25)',
  grass: 'CC0 (DeviantArt linolafett)',
  gravel: 'CC0 (CC0Textures Gravel04)',
};

function parseArgs(argv) {
  const i = argv.indexOf('--out');
  if (i >= 0 && !argv[i + 1]) fail('--out needs a directory');
  return { out: resolve(i >= 0 ? argv[i + 1] : join(REPO, '.cache/photos')) };
}

/** A failure the script reports in one clear line before exiting non-zero. */
class FetchError extends Error {}

function fail(message) {
  throw new FetchError(message);
}

function firstExisting(root, paths) {
  return paths.find((p) => existsSync(join(root, p)));
}

async function largestImage(root, dir) {
  let entries;
  try {
    entries = await readdir(join(root, dir));
  } catch {
    return undefined;
  }
  const sized = entries
    .map((f) => ({ f, m: /^(\d+)x(\d+)\.(jpe?g|png)$/i.exec(f) }))
    .filter((e) => e.m)
    .map((e) => ({ f: e.f, px: Number(e.m[1]) * Number(e.m[2]) }))
    .sort((a, b) => b.px - a.px);
  return sized[0] ? `${dir}/${sized[0].f}` : undefined;
}

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  if (r.error) return { ok: false, out: r.error.code === 'ENOENT' ? `${cmd} not found (this script needs Debian/Ubuntu tools: apt-get, dpkg)` : String(r.error) };
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}`.trim() };
}

/** `apt-get download`, running `apt-get update` first only when the package lists are missing. */
function aptDownload(pkgs, cwd) {
  console.log(`downloading ${pkgs.join(', ')} with apt-get download ...`);
  let r = run('apt-get', ['download', ...pkgs], cwd);
  if (!r.ok && /Unable to locate|no installation candidate|Can't select candidate/i.test(r.out)) {
    console.log('package lists missing: running apt-get update ...');
    const u = run('apt-get', ['update'], cwd);
    if (!u.ok) fail(`apt-get update failed:\n${u.out}`);
    r = run('apt-get', ['download', ...pkgs], cwd);
  }
  if (!r.ok) fail(`apt-get download ${pkgs.join(' ')} failed:\n${r.out}`);
}

async function loadManifest(path) {
  try {
    const m = JSON.parse(await readFile(path, 'utf8'));
    return Array.isArray(m.photos) ? m : undefined;
  } catch {
    return undefined;
  }
}

/** Copyright and licence of one file from a DEP-5 copyright file (`Files:` stanzas). */
function dep5Licence(text, file) {
  for (const stanza of text.split(/\n\s*\n/)) {
    const files = /^Files:((?:.*\n?)(?:[ \t]+.*\n?)*)/m.exec(stanza)?.[1]?.split(/\s+/).filter(Boolean) ?? [];
    if (!files.some((f) => f === file || (f.includes('*') && globMatch(f, file)))) continue;
    const licence = /^License:\s*(.+)$/m.exec(stanza)?.[1]?.trim();
    const holder = /^Copyright:\s*(.+)$/m.exec(stanza)?.[1]?.trim().replace(/\s*<[^>]*>.*$/, '');
    if (licence) return holder ? `${licence} (${holder})` : licence;
  }
  return undefined;
}

function globMatch(glob, file) {
  const re = new RegExp(`^${glob.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(file);
}

async function licenceOf(source, root, name, sourcePath) {
  const copyrightText = await readFile(join(root, source.copyright), 'utf8').catch(() => '');
  if (source.prefix === 'mate') {
    return dep5Licence(copyrightText, sourcePath.replace('usr/share/backgrounds/mate/', '')) ?? 'GPL-2+ (see copyright file)';
  }
  if (source.prefix === 'plasma') {
    const meta = JSON.parse(await readFile(join(root, `usr/share/wallpapers/${name}/metadata.json`), 'utf8').catch(() => '{}'));
    const author = meta?.KPlugin?.Authors?.[0]?.Name;
    const lic = meta?.KPlugin?.License;
    return `${dep5Licence(copyrightText, sourcePath) ?? 'GPL-2+'}${lic ? `; metadata.json: ${lic}` : ''}${author ? ` (${author})` : ''}`;
  }
  return `${SKIMAGE_LICENCE[name] ?? 'see skimage/data/_fetchers.py'}; package: ${dep5Licence(copyrightText, sourcePath) ?? 'BSD-3-Clause'}`;
}

/** Copies one photograph into place; grayscale images become 3-channel PNG. */
async function install(src, dstNoExt) {
  const meta = await sharp(src).metadata();
  const gray = meta.channels !== undefined && meta.channels < 3;
  const dst = gray ? `${dstNoExt}.png` : `${dstNoExt}${extname(src).toLowerCase()}`;
  if (gray) await sharp(src).toColourspace('srgb').png({ compressionLevel: 9 }).toFile(dst);
  else await copyFile(src, dst);
  return { dst, convertedFromGray: gray };
}

async function dimensions(file) {
  const m = await sharp(file).metadata();
  const swap = (m.orientation ?? 1) >= 5;
  return { width: swap ? m.height : m.width, height: swap ? m.width : m.height, channels: m.channels };
}

async function main() {
  const { out } = parseArgs(process.argv.slice(2));
  const manifestPath = join(out, 'manifest.json');
  const old = await loadManifest(manifestPath);
  const kept = new Map();
  for (const p of old?.photos ?? []) {
    const split = VAL.includes(p.name) ? 'val' : 'train';
    if (!existsSync(join(out, p.file))) continue;
    if (p.split === split) kept.set(p.name, p);
    else await rm(join(out, p.file), { force: true }); // the split changed: fetch it again into its new folder
  }

  const wanted = SOURCES.flatMap((s) => s.names.map((name) => ({ source: s, name })));
  const missing = wanted.filter((w) => !kept.has(w.name));
  const packages = { ...(old?.packages ?? {}) };
  const photos = new Map(kept);

  if (missing.length === 0) {
    console.log(`all ${wanted.length} photographs present in ${relative(process.cwd(), out) || '.'}: nothing to do`);
    return;
  }

  const pkgs = [...new Set(missing.map((m) => m.source.pkg))];
  const tmp = await mkdtemp(join(tmpdir(), 'simpleir-photos-'));
  try {
    aptDownload(pkgs, tmp);
    const debs = (await readdir(tmp)).filter((f) => f.endsWith('.deb'));
    const root = join(tmp, 'root');
    for (const pkg of pkgs) {
      const deb = debs.find((f) => f.startsWith(`${pkg}_`));
      if (!deb) fail(`apt-get download did not produce a .deb for ${pkg}`);
      packages[pkg] = decodeURIComponent(deb.slice(pkg.length + 1, -'.deb'.length)).replace(/_[^_]*$/, '');
      const x = run('dpkg', ['-x', join(tmp, deb), root], tmp);
      if (!x.ok) fail(`dpkg -x ${deb} failed:\n${x.out}`);
      console.log(`extracted ${deb}`);
    }

    await mkdir(join(out, 'train'), { recursive: true });
    await mkdir(join(out, 'val'), { recursive: true });
    await mkdir(join(out, 'licences'), { recursive: true });
    for (const pkg of pkgs) {
      const source = SOURCES.find((s) => s.pkg === pkg);
      await copyFile(join(root, source.copyright), join(out, 'licences', `${pkg}.copyright`)).catch(() =>
        console.warn(`warning: no copyright file ${source.copyright} in ${pkg}`),
      );
    }

    const notFound = [];
    for (const { source, name } of missing) {
      const sourcePath = await source.locate(root, name);
      if (!sourcePath) {
        notFound.push(`${source.pkg}: ${name}`);
        continue;
      }
      const split = VAL.includes(name) ? 'val' : 'train';
      const { dst, convertedFromGray } = await install(join(root, sourcePath), join(out, split, `${source.prefix}-${name}`));
      const { width, height, channels } = await dimensions(dst);
      photos.set(name, {
        name,
        file: relative(out, dst).split('\\').join('/'),
        source: source.pkg,
        sourcePath,
        split,
        width,
        height,
        channels,
        convertedFromGray,
        licence: await licenceOf(source, root, name, sourcePath),
        licenceFile: `licences/${source.pkg}.copyright`,
      });
      console.log(`${split.padEnd(5)} ${basename(dst)} ${width}x${height}${convertedFromGray ? ' (grayscale -> RGB)' : ''}`);
    }

    const order = wanted.map((w) => w.name);
    const list = [...photos.values()].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
    const manifest = {
      version: 1,
      generatedBy: 'scripts/fetch-photos.mjs',
      packages,
      split: { val: VAL, rule: 'val is fixed by name and never used for training; everything else is train' },
      photos: list,
    };
    await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
    const count = (s) => list.filter((p) => p.split === s).length;
    console.log(`wrote ${relative(process.cwd(), manifestPath)}: ${count('train')} train, ${count('val')} val`);

    const valMissing = notFound.filter((n) => VAL.includes(n.split(': ')[1]));
    if (notFound.length) console.warn(`warning: not found in the packages: ${notFound.join(', ')}`);
    if (valMissing.length) fail(`validation photographs missing (${valMissing.join(', ')}): the package layout changed`);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (e) {
  console.error(`fetch-photos: ${e instanceof FetchError ? e.message : e?.stack ?? e}`);
  process.exitCode = 1;
}
