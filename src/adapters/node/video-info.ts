/** What the Node video sources learn about a video file before decoding it (size, rate, timing, colour, audio). */

import type { ColourTags, Rational, Y4mInterlace } from './y4m.js';

/** What `probeY4m` and `probeVideoFile` learn without decoding frames. */
export interface VideoInfo {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** Frame rate. */
  readonly fps: Rational;
  /** Number of frames, when it can be known in advance. */
  readonly frames: number | undefined;
  /** Pixel aspect ratio (sample aspect ratio); `0:0` when the file does not say. */
  readonly aspect: Rational;
  /** Field order; `unknown` when the file does not say. */
  readonly interlace: Y4mInterlace;
  /** Colour tags the file declares (empty when untagged). */
  readonly colour: ColourTags;
  /** True when the file also has an audio stream (ffmpeg inputs only). */
  readonly hasAudio: boolean;
  /** Time base of the video stream's timestamps, when the container has one (ffmpeg inputs only). */
  readonly timeBase?: Rational;
}
