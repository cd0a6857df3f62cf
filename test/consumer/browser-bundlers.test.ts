/**
 * The packed package in browser apps built by esbuild (platform browser), Vite and webpack 5: each app
 * loads both presets with no options (weights built into the package), restores an image made by
 * ffmpeg (checked against the same restore in Node) and turns an ffmpeg MP4 into a restored MP4
 * (every frame), in headless Chromium.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { appProject, APP_MAIN_JS, appHtml, makeMedia, runAndCheckApp, WEBPACK_CONFIG, type AppMedia } from './browser-app';
import { scratchApp, type ScratchApp } from './scratch';

let app: ScratchApp;
let media: AppMedia;

/** `npm run test:node` (SIMPLEIR_SKIP_BROWSER=1) skips the browser tests, these included; it says so. */
const skip = /^(1|true|yes)$/i.test(process.env.SIMPLEIR_SKIP_BROWSER ?? '') ? 'SIMPLEIR_SKIP_BROWSER=1: browser consumer apps not run' : false;

before(async () => {
  if (skip) return;
  app = await scratchApp();
  media = await makeMedia();
});

after(async () => {
  if (media) await rm(media.dir, { recursive: true, force: true });
});

/** The presets must come out as chunks of their own, loaded only when asked for. */
async function assertLazyPresets(outDir: string, mainFile: string): Promise<void> {
  const files = await readdir(outDir, { recursive: true });
  const js = files.filter((f) => f.endsWith('.js'));
  assert.ok(js.length >= 3, `expected the app plus a chunk per preset in ${outDir}, got ${js.join(', ')}`);
  const main = await readFile(join(outDir, mainFile), 'utf8');
  // A base64 run of the preset binaries would be thousands of characters long: not in the entry file.
  assert.ok(!/[A-Za-z0-9+/]{20000}/.test(main), `${mainFile} embeds the preset weights instead of loading them on demand`);
}

test('esbuild (platform browser): presets with no options, image and MP4 restored', { skip }, async () => {
  const dir = await appProject(app.dir, 'esbuild-app', APP_MAIN_JS);
  const out = join(dir, 'out');
  await app.exec(join(app.dir, 'node_modules/.bin/esbuild'), ['main.js', '--bundle', '--format=esm', '--platform=browser', '--splitting', '--minify', `--outdir=${out}`], { cwd: dir });
  await writeFile(join(out, 'index.html'), appHtml('main.js', true));
  await assertLazyPresets(out, 'main.js');
  await runAndCheckApp(out, '/index.html', media);
});

test('Vite 7: presets with no options, image and MP4 restored', { skip }, async () => {
  const dir = await appProject(app.dir, 'vite-app', APP_MAIN_JS);
  await writeFile(join(dir, 'index.html'), appHtml('./main.js', true));
  await app.exec(join(app.dir, 'node_modules/.bin/vite'), ['build', '--outDir', 'out', '--emptyOutDir', '--logLevel', 'warn'], { cwd: dir });
  const out = join(dir, 'out');
  const html = await readFile(join(out, 'index.html'), 'utf8');
  const main = /src="\/?([^"]+\.js)"/.exec(html)?.[1];
  assert.ok(main, `no script in Vite's index.html:\n${html}`);
  await assertLazyPresets(out, main);
  await runAndCheckApp(out, '/index.html', media);
});

test('webpack 5 (webpack-cli): presets with no options, image and MP4 restored', { skip }, async () => {
  const dir = await appProject(app.dir, 'webpack-app', APP_MAIN_JS);
  await writeFile(join(dir, 'webpack.config.cjs'), WEBPACK_CONFIG);
  await app.exec(join(app.dir, 'node_modules/.bin/webpack'), ['--config', 'webpack.config.cjs'], { cwd: dir });
  const out = join(dir, 'out');
  await writeFile(join(out, 'index.html'), appHtml('main.js', false));
  await assertLazyPresets(out, 'main.js');
  await runAndCheckApp(out, '/index.html', media);
});
