/** Node sink: writes each frame to a numbered image file (`frame-00000.png`, ...) in a folder. */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { OperatorFunction } from 'rxjs';
import type { NodeFrame } from '../../streams/frames.js';
import { frameSink } from './frame-sink.js';
import { checkPath } from './files.js';
import { writeImage } from './image-file.js';

/** Options of {@link toImageFiles}. */
export interface ToImageFilesOptions {
  /** `.png` (default), `.jpg`, `.jpeg` or `.webp`. */
  readonly ext?: string;
  /** File name before the number (default `frame-`). */
  readonly prefix?: string;
  /** Digits of the zero-padded frame number (default 5). */
  readonly digits?: number;
  /** JPEG and WebP quality, 1 to 100 (default 90). */
  readonly quality?: number;
}

/** What {@link toImageFiles} emits when its input completes. */
export interface ImageFilesSummary {
  /** Frames written. */
  readonly frames: number;
  /** Total size of the files in bytes. */
  readonly bytes: number;
  /** The files written, in order. */
  readonly paths: readonly string[];
}

/**
 * Writes frame `i` to `dir/<prefix><i, zero-padded><ext>` (the folder is created), one at a time,
 * pulling from a pull source; emits one {@link ImageFilesSummary}.
 * Errors: those of {@link writeImage} (`UNSUPPORTED_FORMAT`, `INVALID_IMAGE`, `IO_ERROR`).
 */
export function toImageFiles(dir: string, options: ToImageFilesOptions = {}): OperatorFunction<NodeFrame, ImageFilesSummary> {
  checkPath('toImageFiles(dir)', dir, 'a folder path');
  const ext = options.ext ?? '.png';
  const prefix = options.prefix ?? 'frame-';
  const digits = options.digits ?? 5;
  return frameSink<ImageFilesSummary>(() => {
    const paths: string[] = [];
    let bytes = 0;
    return {
      async write(frame) {
        const path = join(dir, `${prefix}${String(paths.length).padStart(digits, '0')}${ext}`);
        await writeImage(path, { data: frame.data, width: frame.width, height: frame.height, channels: frame.channels ?? 3 }, { quality: options.quality });
        bytes += (await stat(path)).size;
        paths.push(path);
      },
      finish: async () => ({ frames: paths.length, bytes, paths }),
      abort() {},
    };
  });
}
