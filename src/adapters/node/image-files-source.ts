/** Node source: a list of image files (PNG, JPEG, WebP) as a pull-based stream of frames at a constant rate. */
import type { NodeFrame } from '../../streams/frames.js';
import { pullSource, type PullSource } from '../../streams/pull.js';
import { invalidArgument } from '../../core/errors.js';
import { readImage } from './image-file.js';
import type { Rational } from './y4m.js';
import { frameDuration } from './y4m-source.js';

/** Options of {@link fromImageFiles}. */
export interface FromImageFilesOptions {
  /** Rate that gives the frames their timestamps (default 25 fps). */
  readonly fps?: Rational;
  /** 3 (default): RGB; 4: RGBA. */
  readonly channels?: 3 | 4;
}

/**
 * Reads the images one at a time, as they are requested, as frames `i * 1e6 / fps` microseconds
 * apart. Errors: those of {@link readImage} (`IO_ERROR`, `UNSUPPORTED_FORMAT`, `CORRUPT_INPUT`).
 */
export function fromImageFiles(paths: readonly string[], options: FromImageFilesOptions = {}): PullSource<NodeFrame> {
  if (!Array.isArray(paths) || paths.some((p) => typeof p !== 'string' || p.length === 0)) {
    throw invalidArgument('fromImageFiles(paths)', "a list of image file paths, e.g. ['frame-001.png', 'frame-002.png']", paths);
  }
  const duration = frameDuration(options.fps ?? { num: 25, den: 1 });
  return pullSource<NodeFrame>((producer) => {
    const run = async (): Promise<void> => {
      for (let i = 0; i < paths.length; i++) {
        await producer.waitForDemand();
        if (producer.closed) return;
        const img = await readImage(paths[i]!, { channels: options.channels ?? 3 });
        if (producer.closed) return;
        producer.next({ data: img.data, width: img.width, height: img.height, channels: img.channels, timestamp: i * duration, duration });
      }
    };
    run().then(
      () => producer.complete(),
      (e: unknown) => producer.error(e),
    );
  });
}
