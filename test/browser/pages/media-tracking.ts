/**
 * Tracking of every VideoFrame, VideoDecoder and VideoEncoder a test page makes (installed when this
 * module is imported), so that a test can check that each frame was closed and each codec released;
 * and the page's way of handing a Blob back to the test (base64).
 */

/** What a page left behind. */
export interface Leaks {
  /** VideoFrames made (decoded or constructed) and not closed. */
  readonly openFrames: number;
  /** Frames made in all. */
  readonly framesMade: number;
  /** Decoder states at the end. */
  readonly decoders: string[];
  /** Encoder states at the end. */
  readonly encoders: string[];
}

const open = new Set<VideoFrame>();
let framesMade = 0;
let decoders: VideoDecoder[] = [];
let encoders: VideoEncoder[] = [];
let decoded = 0;

const OriginalFrame = globalThis.VideoFrame;
const originalClose = OriginalFrame.prototype.close;
OriginalFrame.prototype.close = function (this: VideoFrame) {
  open.delete(this);
  originalClose.call(this);
};
// A proxy, not a subclass: decoded frames must stay `instanceof VideoFrame`.
globalThis.VideoFrame = new Proxy(OriginalFrame, {
  construct(target, args: ConstructorParameters<typeof VideoFrame>) {
    const frame = Reflect.construct(target, args) as VideoFrame;
    open.add(frame);
    framesMade++;
    return frame;
  },
});

const OriginalDecoder = globalThis.VideoDecoder;
globalThis.VideoDecoder = class extends OriginalDecoder {
  constructor(init: VideoDecoderInit) {
    super({
      ...init,
      output: (frame) => {
        open.add(frame);
        framesMade++;
        decoded++;
        init.output(frame);
      },
    });
    decoders.push(this);
  }
} as typeof VideoDecoder;

const OriginalEncoder = globalThis.VideoEncoder;
globalThis.VideoEncoder = class extends OriginalEncoder {
  constructor(init: VideoEncoderInit) {
    super(init);
    encoders.push(this);
  }
} as typeof VideoEncoder;

/** Forgets everything tracked so far (call at the start of each run). */
export function resetTracking(): void {
  open.clear();
  framesMade = 0;
  decoders = [];
  encoders = [];
  decoded = 0;
}

/** Frames output by decoders since the last reset. */
export function decodedCount(): number {
  return decoded;
}

/** Frames made since the last reset and not closed yet. */
export function openCount(): number {
  return open.size;
}

/** Tracks a frame the page neither constructed nor decoded (a MediaStreamTrackProcessor's), until it is closed. */
export function trackFrame(frame: VideoFrame): void {
  open.add(frame);
}

/** Decoders made since the last reset and not closed. */
export function openDecoderCount(): number {
  return decoders.filter((d) => d.state !== 'closed').length;
}

/** Waits `ms` milliseconds. */
export const tick = (ms = 50): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What is left open now. */
export function currentLeaks(): Leaks {
  return { openFrames: open.size, framesMade, decoders: decoders.map((d) => d.state), encoders: encoders.map((e) => e.state) };
}

/**
 * Like {@link currentLeaks}, but a frame transferred to a worker (`postMessage(m, [frame])`, which
 * closes it here without a `close()` call: its coded size reads 0) counts as closed.
 */
export function currentLeaksAfterTransfer(): Leaks {
  const stillOpen = [...open].filter((f) => f.codedWidth > 0).length;
  return { ...currentLeaks(), openFrames: stillOpen };
}

/** What is left open, after a short wait (codec callbacks and closes settle). */
export async function leaks(): Promise<Leaks> {
  await tick();
  return currentLeaks();
}

/** A Blob's bytes as base64 (how a page hands a file back to the test). */
export async function base64(blob: Blob): Promise<string> {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
