#!/usr/bin/env node
/**
 * Fetches the clean photographs the project trains and validates on (see /work/shared/data.md)
 * from Debian's archive without installing anything, into `.cache/photos/{train,val}/` with a
 * `manifest.json`; and, with `--dark`, a separate set of naturally dark photographs (night-sky astrophotography),
 * the identity samples of the GPU recipe (scripts/gpu/), into `.cache/photos/dark/{train,val}/`
 * with its own `dark/manifest.json` (the same format, so the main set and its manifest are
 * untouched). Idempotent: photographs already listed in a manifest and on disk are kept.
 *
 * Usage: node scripts/fetch-photos.mjs [--out DIR] [--dark]   (default DIR: <repo>/.cache/photos;
 *   --dark also fetches the dark set: a 246 MB package, needed only by the GPU recipe)
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

/**
 * The dark set: night-sky photographs from Stellarium's deep-sky textures (mostly black sky with
 * stars, nebulae and galaxies; mean level 0.02-0.15), only those whose licence in the package's
 * CREDITS file is free (public domain, CC0, CC BY). Used as clean identity samples (input = target)
 * so that training learns to leave naturally dark frames alone; three held out for validation.
 */
const DARK_VAL = ['m31', 'rcw32', 'sh2-264'];

/** The dark set's photographs: every one at least 512 px, read from the package's nebulae textures. */
const DARK_SOURCES = [
  {
    pkg: 'stellarium-data',
    prefix: 'stellarium',
    copyright: 'usr/share/doc/stellarium-data/copyright',
    credits: 'usr/share/doc/stellarium-data/CREDITS.md.gz',
    names: ['m31', 'm44', 'ic1396', 'rcw32', 'rcw38', 'rcw49', 'n3293', 'n3603', 'n2467', 'ic342', 'n3109', 'n6231', 'n6397', 'sh2-264', 'sh2-308', 'ldn1622', 'n2808', 'n7023', 'ic2177', 'n2442'],
    locate: (root, name) => firstExisting(root, [`usr/share/stellarium/nebulae/default/${name}.png`]),
  },
];

/** Licence of each dark photograph, from stellarium-data's CREDITS.md (section 4, deep-sky images). */
const STELLARIUM_LICENCE = {
  m31: 'CC BY 3.0 (LEE ang HG731GZ)',
  m44: 'CC0 1.0 (Giuseppe Donatiello)',
  ic1396: 'CC0 1.0 (Giuseppe Donatiello)',
  rcw32: 'CC BY 4.0 (ESO/Digitized Sky Survey 2)',
  rcw38: 'CC BY 4.0 (ESO/Digitized Sky Survey 2)',
  rcw49: 'CC BY 4.0 (ESO/Digitized Sky Survey 2)',
  ic2177: 'CC BY 4.0 (ESO/Digitized Sky Survey 2)',
  n2442: 'CC BY 4.0 (ESO/Digitized Sky Survey 2)',
  n3293: 'CC BY 4.0 (ESO/G. Beccari)',
  n3603: 'CC BY 4.0 (ESO/La Silla Observatory)',
  n2467: 'public domain (Sun Shuwei)',
  ic342: 'public domain (Sun Shuwei)',
  n3109: 'public domain (Wang Lingyi)',
  n6231: 'public domain (Wang Lingyi)',
  n6397: 'public domain (Wang Lingyi)',
  'sh2-264': 'public domain (Wang Lingyi)',
  'sh2-308': 'public domain (Wang Lingyi)',
  ldn1622: 'public domain (Wang Lingyi)',
  n2808: 'public domain (NASA)',
  n7023: 'public domain (NASA)',
};

/** The two photo sets this script fetches: where each goes, its sources and its held-out names. */
const SETS = [
  { label: 'photographs', dir: '.', sources: SOURCES, val: VAL },
  { label: 'dark photographs', dir: 'dark', sources: DARK_SOURCES, val: DARK_VAL },
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
  // The dark set (a 246 MB package) is only for the GPU recipe: fetched on request, not by CI.
  return { out: resolve(i >= 0 ? argv[i + 1] : join(REPO, '.cache/photos')), dark: argv.includes('--dark') };
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
  if (source.prefix === 'stellarium') {
    return `${STELLARIUM_LICENCE[name] ?? 'see CREDITS.md'}; package: ${source.pkg} (GPL-2+), credits in licences/${source.pkg}.CREDITS.md.gz`;
  }
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
  const { out, dark } = parseArgs(process.argv.slice(2));
  for (const set of SETS) if (set.dir === '.' || dark) await fetchSet(set, join(out, set.dir));
}

/** Fetches the photographs of one set into `out/{train,val}/` with `out/manifest.json`. */
async function fetchSet({ label, sources, val }, out) {
  const manifestPath = join(out, 'manifest.json');
  const old = await loadManifest(manifestPath);
  const kept = new Map();
  for (const p of old?.photos ?? []) {
    const split = val.includes(p.name) ? 'val' : 'train';
    if (!existsSync(join(out, p.file))) continue;
    if (p.split === split) kept.set(p.name, p);
    else await rm(join(out, p.file), { force: true }); // the split changed: fetch it again into its new folder
  }

  const wanted = sources.flatMap((s) => s.names.map((name) => ({ source: s, name })));
  const missing = wanted.filter((w) => !kept.has(w.name));
  const packages = { ...(old?.packages ?? {}) };
  const photos = new Map(kept);

  if (missing.length === 0) {
    console.log(`all ${wanted.length} ${label} present in ${relative(process.cwd(), out) || '.'}: nothing to do`);
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
      const source = sources.find((s) => s.pkg === pkg);
      await copyFile(join(root, source.copyright), join(out, 'licences', `${pkg}.copyright`)).catch(() =>
        console.warn(`warning: no copyright file ${source.copyright} in ${pkg}`),
      );
      if (source.credits) {
        await copyFile(join(root, source.credits), join(out, 'licences', `${pkg}.${basename(source.credits)}`)).catch(() =>
          console.warn(`warning: no credits file ${source.credits} in ${pkg}`),
        );
      }
    }

    const notFound = [];
    for (const { source, name } of missing) {
      const sourcePath = await source.locate(root, name);
      if (!sourcePath) {
        notFound.push(`${source.pkg}: ${name}`);
        continue;
      }
      const split = val.includes(name) ? 'val' : 'train';
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
      split: { val, rule: 'val is fixed by name and never used for training; everything else is train' },
      photos: list,
    };
    await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
    const count = (s) => list.filter((p) => p.split === s).length;
    console.log(`wrote ${relative(process.cwd(), manifestPath)}: ${count('train')} train, ${count('val')} val`);

    const valMissing = notFound.filter((n) => val.includes(n.split(': ')[1]));
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
