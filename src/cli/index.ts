/** The `simpleir` command line: info, restore (images and video), degrade, train. */
import { Command, CommanderError } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { extname } from 'node:path';
import { flopsPerPixel, isPresetName, paramCount, PRESETS } from '../core/config.js';
import { DEGRADATION_KINDS, createDegradation, type DegradationKind } from '../core/degrade/index.js';
import { SimpleIRError } from '../core/errors.js';
import { IMAGE_EXTENSIONS, imageInfo, readAnimation, readImage, writeAnimation, writeImage, type ImageFileInfo } from '../adapters/node/image-file.js';
import { checkLowLight, type LowLightMode } from '../core/model/exposure.js';
import { SimpleIR } from '../core/model/simpleir.js';
import { engineOption, loadCliModel, numberOption, reportError, useBackend, type EngineName } from './common.js';
import { trainCommand } from './train.js';
import type { TemporalOption } from '../streams/temporal.js';
import { isVideoPath, restoreVideo, VIDEO_EXTENSIONS } from './video.js';

/**
 * The `temporal` option of a video restore from `--temporal`, `--temporal-frames N`,
 * `--temporal-guide` and `--temporal-votes all|explained` (each of the last three implies
 * `--temporal`; `--temporal-votes` implies `--temporal-guide`): `undefined` for per-frame restoration.
 * @throws SimpleIRError `INVALID_ARGUMENT` for a frame count that is not an integer from 2 to 16, or votes other than `all` or `explained`.
 */
function temporalOption(opts: { temporal?: boolean; temporalFrames?: string; temporalGuide?: boolean; temporalVotes?: string }): TemporalOption | undefined {
  const votes = opts.temporalVotes;
  if (votes !== undefined && !isGuideVotes(votes)) {
    throw new SimpleIRError('INVALID_ARGUMENT', `--temporal-votes ${votes} is not valid: give all (every aligned past frame votes, the default of --temporal-guide) or explained (a past frame votes only where the current input is it lightened towards white).`, { temporalVotes: votes });
  }
  const guide = votes !== undefined ? { guide: true, guideVotes: votes } : opts.temporalGuide ? { guide: true } : undefined;
  if (opts.temporalFrames === undefined) return guide ?? (opts.temporal ? true : undefined);
  const frames = Number(opts.temporalFrames);
  if (!(Number.isInteger(frames) && frames >= 2 && frames <= 16)) {
    throw new SimpleIRError('INVALID_ARGUMENT', `--temporal-frames ${opts.temporalFrames} is not valid: give the number of frames fused, the current one included, an integer from 2 to 16 (default 5).`, { temporalFrames: opts.temporalFrames });
  }
  return { frames, ...guide };
}

function isGuideVotes(votes: string): votes is 'all' | 'explained' {
  return votes === 'all' || votes === 'explained';
}

function checkImageExt(path: string, what: string): void {
  const ext = extname(path).toLowerCase();
  if (!IMAGE_EXTENSIONS.includes(ext)) {
    throw new SimpleIRError('UNSUPPORTED_FORMAT', `${what} ${path}: unsupported extension "${ext || '(none)'}"; use ${IMAGE_EXTENSIONS.join(', ')}.`);
  }
}

/** Restores every frame of an animated image into an animated WebP with the same delays and loop count. */
async function restoreAnimation(input: string, output: string, opts: { model: string; backend: string; engine: EngineName; tileSize: number | 'auto'; tiled: boolean; lowLight: LowLightMode }, about: ImageFileInfo): Promise<void> {
  if (extname(output).toLowerCase() !== '.webp') {
    throw new SimpleIRError(
      'UNSUPPORTED_FORMAT',
      `${input} is an animated ${about.format.toUpperCase()} with ${about.frames} frames; an animation is written as .webp: give an output ending in .webp (got "${extname(output) || '(none)'}").`,
      { path: input, frames: about.frames },
    );
  }
  const animation = await readAnimation(input, { channels: about.hasAlpha ? 4 : 3 });
  const backend = await useBackend(opts.backend);
  const model = await loadCliModel(opts.model, opts.engine, { tiled: opts.tiled, backend });
  const t0 = Date.now();
  try {
    const frames = [];
    for (const frame of animation.frames) frames.push(await model.restoreImage(frame, { tileSize: opts.tileSize, lowLight: opts.lowLight }));
    await writeAnimation(output, { ...animation, frames });
  } finally {
    await model.dispose();
  }
  process.stderr.write(`restored ${animation.frames.length} frames of ${input} (${about.width}x${about.height}) with ${opts.model} on ${model.runsOn} in ${((Date.now() - t0) / 1000).toFixed(2)} s -> ${output}\n`);
}

/** Parses `--low-light`; the message names the flag and its values. */
function lowLightOption(value: string): LowLightMode {
  try {
    return checkLowLight(value, '--low-light');
  } catch {
    throw new SimpleIRError('INVALID_ARGUMENT', `--low-light must be auto or off; got ${JSON.stringify(value)}. Use off to keep the input's exposure (scenes meant to be dark).`);
  }
}

/** Builds the command-line program. */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name('simpleir')
    .description('Restore images and video (rain, snow, low light, blur) with SimpleIR, and train it with Review Learning.')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(`simpleir: ${str.replace(/^error: /, 'error: ')}`) });

  program
    .command('info')
    .description('print a model\'s config, parameter count and FLOPs per pixel as JSON')
    .option('-m, --model <model>', 'tiny, base, or a weight file (.json manifest or .sirw)', 'base')
    .action(async (opts: { model: string }) => {
      let info: Record<string, unknown>;
      if (isPresetName(opts.model)) {
        const config = PRESETS[opts.model];
        let weights: Record<string, unknown> = { shipped: false };
        try {
          await useBackend('cpu');
          const m = await SimpleIR.load(opts.model);
          weights = { shipped: true, metadata: m.metadata };
          m.dispose();
        } catch (e) {
          if (!(e instanceof SimpleIRError && e.code === 'WEIGHTS_NOT_FOUND')) throw e;
        }
        info = { model: opts.model, config, paramCount: paramCount(config), flopsPerPixel: flopsPerPixel(config), gflopsPer1080p: +(flopsPerPixel(config) * 1920 * 1080 / 1e9).toFixed(2), weights };
      } else {
        await useBackend('cpu');
        const m = await SimpleIR.load(opts.model);
        info = { model: opts.model, config: m.config, paramCount: m.paramCount, flopsPerPixel: m.flopsPerPixel, gflopsPer1080p: +(m.flopsPerPixel * 1920 * 1080 / 1e9).toFixed(2), weights: { shipped: false, metadata: m.metadata } };
        m.dispose();
      }
      process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
    });

  program
    .command('restore')
    .description('restore an image (PNG, JPEG, WebP) or a video (.y4m, or .mp4 through ffmpeg)')
    .argument('<input>', 'input file')
    .requiredOption('-o, --output <file>', `output file (${[...IMAGE_EXTENSIONS, ...VIDEO_EXTENSIONS].join(', ')})`)
    .option('-m, --model <model>', 'tiny, base, or a weight file', 'base')
    .option('-b, --backend <backend>', 'wasm, cpu or webgpu', 'wasm')
    .option('-e, --engine <engine>', 'tfjs (the SDK) or ort (ONNX Runtime on the CPU for the shipped presets; needs the optional package onnxruntime-node)', 'tfjs')
    .option('-t, --tile <n>', 'largest side of the full-resolution tiles in pixels (0: never tile; default: auto above 1080p)')
    .option('--low-light <mode>', "auto (brighten low-light frames) or off (keep the input's exposure: scenes meant to be dark)", 'auto')
    .option('--temporal', 'video only: temporal restoration, each frame fused with the last ones aligned to it (removes rain and snow the per-frame network leaves; see docs/temporal.md)')
    .option('--temporal-frames <n>', 'video only: frames fused by --temporal, the current one included, 2 to 16 (implies --temporal)', undefined)
    .option('--temporal-guide', 'video only: --temporal guided by the degraded inputs (removes more rain and snow on still or panning scenes; moving objects ghost; implies --temporal)')
    .option('--temporal-votes <votes>', 'video only: which past frames guide --temporal-guide: all (default) or explained (only where the current input is a past one lightened towards white: clean moving cameras keep their detail; implies --temporal-guide)')
    .action(async (input: string, opts: { output: string; model: string; backend: string; engine: string; tile?: string; temporal?: boolean; temporalFrames?: string; temporalGuide?: boolean; temporalVotes?: string; lowLight: string }) => {
      const engine = engineOption(opts.engine);
      const tiled = opts.tile !== undefined;
      const tileSize = opts.tile === undefined ? 'auto' : numberOption('tile', opts.tile, 0, (n) => Number.isInteger(n) && n >= 0);
      const temporal = temporalOption(opts);
      const lowLight = lowLightOption(opts.lowLight);
      const { temporal: _flag, temporalFrames: _frames, temporalGuide: _guide, temporalVotes: _votes, ...rest } = opts;
      if (isVideoPath(input) || isVideoPath(opts.output)) {
        await restoreVideo(input, { ...rest, engine, tiled, tileSize, lowLight, ...(temporal ? { temporal } : {}) });
        return;
      }
      if (temporal) {
        throw new SimpleIRError('INVALID_ARGUMENT', `--temporal needs a video (${VIDEO_EXTENSIONS.join(', ')}); ${input} is restored as an image, frame by frame: drop --temporal, or convert it to a video first.`, { path: input });
      }
      checkImageExt(opts.output, 'output');
      // Alpha is carried through (the model restores RGB); an animated image is restored frame by frame.
      const about = await imageInfo(input);
      if (about.frames > 1) {
        await restoreAnimation(input, opts.output, { ...opts, engine, tiled, tileSize, lowLight }, about);
        return;
      }
      const img = await readImage(input, { channels: about.hasAlpha ? 4 : 3 });
      const backend = await useBackend(opts.backend);
      const model = await loadCliModel(opts.model, engine, { tiled, backend });
      const t0 = Date.now();
      try {
        const out = await model.restoreImage(img, { tileSize, lowLight });
        await writeImage(opts.output, out);
      } finally {
        await model.dispose();
      }
      process.stderr.write(`restored ${input} (${img.width}x${img.height}) with ${opts.model} on ${model.runsOn} in ${((Date.now() - t0) / 1000).toFixed(2)} s -> ${opts.output}\n`);
    });

  program
    .command('degrade')
    .description('apply a synthetic degradation to an image (to make test material)')
    .argument('<input>', 'clean input file')
    .requiredOption('-o, --output <file>', 'output file')
    .requiredOption('-k, --kind <kind>', DEGRADATION_KINDS.join('|'))
    .option('-s, --seed <n>', 'random seed', '1')
    .option('--strength <s>', 'severity in [0, 1]', '0.5')
    .option('--time <seconds>', 'time in the animation (rain and snow move)', '0')
    .action(async (input: string, opts: { output: string; kind: string; seed: string; strength: string; time: string }) => {
      if (!(DEGRADATION_KINDS as readonly string[]).includes(opts.kind)) {
        throw new SimpleIRError('INVALID_ARGUMENT', `--kind must be one of ${DEGRADATION_KINDS.join(', ')}; got ${opts.kind}.`);
      }
      checkImageExt(opts.output, 'output');
      const seed = numberOption('seed', opts.seed, 1, Number.isInteger);
      const strength = numberOption('strength', opts.strength, 0.5, (n) => n >= 0 && n <= 1);
      const time = numberOption('time', opts.time, 0, (n) => n >= 0);
      const img = await readImage(input);
      await useBackend('wasm');
      const d = createDegradation(opts.kind as DegradationKind, { seed, strength });
      const bytes = tf.tidy(() => {
        const x = tf.div(tf.cast(tf.tensor3d(Int32Array.from(img.data), [img.height, img.width, 3], 'int32'), 'float32'), 255) as tf.Tensor3D;
        const y = d.apply(x) as tf.Tensor3D;
        return tf.cast(tf.round(tf.mul(y, 255)), 'int32');
      });
      const data = Uint8Array.from(await bytes.data());
      bytes.dispose();
      d.dispose();
      await writeImage(opts.output, { data, width: img.width, height: img.height, channels: 3 });
      process.stderr.write(`${opts.kind} (seed ${seed}, strength ${strength}) -> ${opts.output}\n`);
    });

  program
    .command('train')
    .description('train SimpleIR with Review Learning (or a baseline) on clean photos degraded on the fly')
    .requiredOption('-o, --out <dir>', 'output folder: checkpoints, report, final weights (resumes when a checkpoint is there)')
    .option('-p, --preset <preset>', 'tiny or base', 'tiny')
    .option('--tasks <list>', 'comma-separated degradation tasks', 'lowlight,rain,snow,blur')
    .option('--order <order>', 'entropy (easiest first by entropy difference) or given', 'entropy')
    .option('--strategy <name>', 'review, sequential, mixed or random-review', 'review')
    .option('--steps <n>', 'optimiser steps over all stages', '2000')
    .option('--batch <n>', 'crops per batch', '8')
    .option('--crop <n>', 'crop side in pixels', '128')
    .option('--lr <x>', 'peak learning rate of each stage', '2e-3')
    .option('--rho0 <x>', 'review share of the second stage', '0.5')
    .option('--share-kind <kind>', 'review share by stage: inverse (rho0/(t-1)), constant or linear-decay', 'inverse')
    .option('--stage-lr-decay <x>', 'stage i starts at lr * x^i (1: every stage at the full rate)', '1')
    .option('--review-quantity <n>', 'difficult samples kept per task (Q)', '64')
    .option('--pool <n>', 'samples per task pool', '1024')
    .option('--clean-fraction <x>', 'share of undegraded samples (input = target)', '0.1')
    .option('--stage-weights <list>', 'relative steps per task, e.g. blur=2')
    .option('--seed <n>', 'random seed', '1')
    .option('--clean <dir>', 'folder of clean training photos (default: the fetched photo set)')
    .option('--val <dir>', 'folder of validation photos (default: the photo set\'s val split)')
    .option('--val-size <WxH>', 'validation frame size, or none', '1920x1080')
    .option('--checkpoint-every <n>', 'steps between checkpoints', '50')
    .option('--max-steps <n>', 'stop after this many steps in this run (resume later)')
    .option('--fresh', 'ignore an existing checkpoint and start over')
    .option('--init <weights>', 'start from these weights (a .json manifest or .sirw of the same preset) instead of the identity')
    .option('--ship <name>', 'file name of the final weights (default model)')
    .option('-b, --backend <backend>', 'wasm or cpu', 'wasm')
    .action(async (opts) => trainCommand(opts));

  return program;
}

/** Runs the program on `argv`; errors become one clear line and a non-zero exit code. */
export async function main(argv: string[] = process.argv): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode;
      return;
    }
    reportError(e);
  }
}
