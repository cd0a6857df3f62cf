/** `simpleir train`: Review Learning (or a baseline) on clean photographs degraded on the fly, with checkpoints, resume and a report. */
import * as tf from '@tensorflow/tfjs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isPresetName, PRESETS, type SimpleIRConfig } from '../core/config.js';
import { DEGRADATION_KINDS } from '../core/degrade/index.js';
import { SimpleIRError } from '../core/errors.js';
import { luminanceEntropy } from '../core/quality.js';
import { initialWeights, SimpleIR } from '../core/model/simpleir.js';
import { orderTasksByDifficulty, validateTaskOrder } from '../core/review/order.js';
import { reportHtml, validationTable } from '../core/review/report.js';
import { STRATEGY_NAMES, type ReviewShareKind, type StrategyName } from '../core/review/schedule.js';
import { OfflineTrainer, type TaskScore } from '../core/review/trainer.js';
import { encodeWeights } from '../core/weights.js';
import { loadCheckpoint, saveCheckpoint } from '../training/checkpoint.js';
import { listImages } from '../adapters/node/image-file.js';
import { trainingPhotos } from './photos.js';
import { createPhotoPairSource, type PhotoPairSource } from '../training/photo-pairs.js';
import { ValidationSet } from '../training/validation-set.js';
import { numberOption, Progress, useBackend } from './common.js';

/** Options of the train verb, as parsed from the command line. */
export interface TrainArgs {
  preset?: string;
  tasks?: string;
  order?: string;
  strategy?: string;
  steps?: string;
  batch?: string;
  crop?: string;
  lr?: string;
  rho0?: string;
  shareKind?: string;
  stageLrDecay?: string;
  reviewQuantity?: string;
  pool?: string;
  cleanFraction?: string;
  stageWeights?: string;
  seed?: string;
  out: string;
  clean?: string;
  val?: string;
  valSize?: string;
  fresh?: boolean;
  checkpointEvery?: string;
  maxSteps?: string;
  backend?: string;
  ship?: string;
  init?: string;
}

/** Orders tasks by mean |entropy(degraded) - entropy(clean)| over a few pool samples, easiest first. */
function entropyOrder(source: PhotoPairSource, tasks: readonly string[]): string[] {
  const stats = tasks.map((task) => {
    const diffs: number[] = [];
    for (let i = 0; i < 8; i++) {
      const { degraded, clean } = source.pairs([{ task, index: i }]);
      diffs.push(Math.abs(luminanceEntropy(degraded) - luminanceEntropy(clean)));
      tf.dispose([degraded, clean]);
    }
    return { task, entropyDiffs: diffs };
  });
  return orderTasksByDifficulty(stats);
}

function parseStageWeights(spec: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (!spec) return out;
  for (const part of spec.split(',')) {
    const [k, v] = part.split('=');
    const n = Number(v);
    if (!k || !Number.isFinite(n) || n <= 0) throw new SimpleIRError('INVALID_ARGUMENT', `--stage-weights expects task=weight pairs like blur=2,rain=1; got "${spec}".`);
    out[k] = n;
  }
  return out;
}

function fmtScores(scores: Record<string, TaskScore>): string {
  return Object.entries(scores).map(([t, s]) => `${t} ${s.psnr.toFixed(2)} dB (${(s.psnr - s.psnrDegraded >= 0 ? '+' : '')}${(s.psnr - s.psnrDegraded).toFixed(2)})`).join(', ');
}

/** The identity start, or the weights of a model file (`--init`), which must have the preset's config. */
async function startingWeights(init: string | undefined, config: SimpleIRConfig, seed: number): Promise<Map<string, Float32Array>> {
  if (!init) return initialWeights(config, { init: 'identity', seed });
  const model = await SimpleIR.load(init);
  try {
    if (JSON.stringify(model.config) !== JSON.stringify(config)) {
      throw new SimpleIRError('WEIGHTS_MISMATCH', `--init ${init} has config ${JSON.stringify(model.config)}, but the preset needs ${JSON.stringify(config)}.`);
    }
    return model.getWeights();
  } finally {
    model.dispose();
  }
}

/** Runs the train verb. */
export async function trainCommand(args: TrainArgs): Promise<void> {
  const backend = await useBackend(args.backend);
  const out = resolve(args.out);
  await mkdir(out, { recursive: true });
  const presetName = args.preset ?? 'tiny';
  if (!isPresetName(presetName)) throw new SimpleIRError('INVALID_ARGUMENT', `--preset must be tiny or base; got ${presetName}.`);
  const config: SimpleIRConfig = PRESETS[presetName];
  const taskList = (args.tasks ?? 'lowlight,rain,snow,blur').split(',').map((t) => t.trim()).filter(Boolean);
  validateTaskOrder(taskList, DEGRADATION_KINDS);
  const strategy = (args.strategy ?? 'review') as StrategyName;
  if (!STRATEGY_NAMES.includes(strategy)) throw new SimpleIRError('INVALID_ARGUMENT', `--strategy must be one of ${STRATEGY_NAMES.join(', ')}; got ${strategy}.`);

  let trainFiles: string[];
  let valFiles: string[];
  if (args.clean) {
    trainFiles = await listImages(args.clean);
    valFiles = args.val ? await listImages(args.val) : [];
  } else {
    const set = await trainingPhotos();
    trainFiles = set.train;
    valFiles = args.val ? await listImages(args.val) : set.val;
  }
  const seed = numberOption('seed', args.seed, 1, Number.isInteger);
  const source = await createPhotoPairSource({
    files: trainFiles,
    cropSize: numberOption('crop', args.crop, 128, (n) => Number.isInteger(n) && n >= 16 && n % config.scale === 0),
    poolSize: numberOption('pool', args.pool, 1024, (n) => Number.isInteger(n) && n >= 8),
    cleanFraction: numberOption('clean-fraction', args.cleanFraction, 0.1, (n) => n >= 0 && n < 1),
    seed,
  });

  const resume = args.fresh ? null : await loadCheckpoint(out);
  let tasks = taskList;
  if (!resume && (args.order ?? 'entropy') === 'entropy') {
    tasks = entropyOrder(source, taskList);
    process.stderr.write(`task order by entropy difference (easiest first): ${tasks.join(', ')}\n`);
  } else if (resume) {
    process.stderr.write(`resuming from ${out} at step ${resume.state.step}\n`);
  }
  const trainer = new OfflineTrainer(
    {
      config,
      tasks,
      strategy,
      steps: numberOption('steps', args.steps, 2000, (n) => Number.isInteger(n) && n > 0),
      batchSize: numberOption('batch', args.batch, 8, (n) => Number.isInteger(n) && n > 0),
      learningRate: numberOption('lr', args.lr, 2e-3, (n) => n > 0),
      rho0: numberOption('rho0', args.rho0, 0.5, (n) => n >= 0 && n <= 1),
      reviewShareKind: shareKindOption(args.shareKind),
      stageLrDecay: numberOption('stage-lr-decay', args.stageLrDecay, 1, (n) => n > 0 && n <= 1),
      reviewQuantity: numberOption('review-quantity', args.reviewQuantity, 64, (n) => Number.isInteger(n) && n >= 0),
      stageWeights: parseStageWeights(args.stageWeights),
      seed,
    },
    await startingWeights(args.init, config, seed),
    resume ?? undefined,
  );
  if (resume) await trainer.restoreOptimizer(resume);

  let validation: ValidationSet | null = null;
  if (args.valSize !== 'none' && valFiles.length > 0) {
    const [w, h] = (args.valSize ?? '1920x1080').split('x').map(Number);
    if (!w || !h) throw new SimpleIRError('INVALID_ARGUMENT', `--val-size must be WIDTHxHEIGHT or none; got ${args.valSize}.`);
    validation = await ValidationSet.create({ files: valFiles, tasks: trainer.options.tasks, width: w, height: h });
  }
  const writeReport = async (): Promise<void> => {
    const ckpt = await trainer.checkpoint();
    await writeFile(join(out, 'report.html'), reportHtml(ckpt.state, trainer.plan));
    await writeFile(join(out, 'validation.md'), `${validationTable(ckpt.state)}\n`);
  };
  const progress = new Progress(trainer.totalSteps, `train ${presetName}/${trainer.options.strategy}`);
  progress.start(trainer.step);
  const started = Date.now();
  let recent: number[] = [];
  await trainer.run(source, {
    checkpointEvery: numberOption('checkpoint-every', args.checkpointEvery, 50, (n) => Number.isInteger(n) && n > 0),
    ...(args.maxSteps ? { maxSteps: numberOption('max-steps', args.maxSteps, 0, (n) => Number.isInteger(n) && n > 0) } : {}),
    onStep: (r) => {
      recent.push(r.loss);
      if (recent.length > 20) recent = recent.slice(-20);
      const avg = recent.reduce((a, b) => a + b, 0) / recent.length;
      progress.update(r.step, `stage ${r.stage + 1} ${r.task} loss ${avg.toFixed(4)} lr ${r.lr.toExponential(1)} ${(r.ms / 1000).toFixed(2)} s/step`);
    },
    ...(validation
      ? {
          validate: async (weights, cfg) => {
            const t0 = Date.now();
            const scores = validation!.evaluate(cfg, weights);
            process.stderr.write(`\nvalidation (${((Date.now() - t0) / 1000).toFixed(0)} s): ${fmtScores(scores)}\n`);
            return scores;
          },
        }
      : {}),
    saveCheckpoint: async (ckpt) => {
      await saveCheckpoint(out, ckpt);
      await writeReport();
    },
  });
  progress.stop();
  await writeReport();
  if (trainer.finished) {
    const ckpt = await trainer.checkpoint();
    const metadata = {
      preset: presetName,
      ...(args.init ? { initialisedFrom: args.init } : {}),
      strategy: trainer.options.strategy,
      tasks: trainer.options.tasks,
      steps: trainer.totalSteps,
      batchSize: trainer.options.batchSize,
      trainingHours: +(ckpt.state.elapsedMs / 3.6e6).toFixed(2),
      backend,
      validation: ckpt.state.validation.at(-1)?.scores ?? null,
      memory: trainer.reviewMemory.toJSON((s) => s),
      finishedAt: new Date().toISOString(),
    };
    for (const dtype of ['float16'] as const) {
      const name = args.ship ?? 'model';
      const files = encodeWeights(config, ckpt.weights, { dtype, weightsFile: `${name}.bin`, metadata });
      await writeFile(join(out, `${name}.bin`), files.data);
      await writeFile(join(out, `${name}.json`), JSON.stringify(files.manifest, null, 1));
    }
    process.stderr.write(`done: ${trainer.totalSteps} steps in ${((Date.now() - started) / 3.6e6).toFixed(2)} h this run; weights in ${out}\n`);
  } else {
    process.stderr.write(`stopped at step ${trainer.step} of ${trainer.totalSteps}; run the same command again to resume\n`);
  }
  validation?.dispose();
  trainer.dispose();
}

const SHARE_KINDS: readonly ReviewShareKind[] = ['inverse', 'constant', 'linear-decay'];

/** Parses --share-kind. */
function shareKindOption(value: string | undefined): ReviewShareKind {
  const kind = value ?? 'inverse';
  if (!(SHARE_KINDS as readonly string[]).includes(kind)) {
    throw new SimpleIRError('INVALID_ARGUMENT', `--share-kind must be one of ${SHARE_KINDS.join(', ')}; got '${kind}'.`);
  }
  return kind as ReviewShareKind;
}
