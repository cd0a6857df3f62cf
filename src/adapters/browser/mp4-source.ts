/**
 * `fromMp4`: the video frames of an MP4 file (H.264, VP9, AV1; plain or fragmented), demuxed by mp4box
 * and decoded by WebCodecs, as a pull source: the decoder runs only as far ahead as the consumer asks.
 */
import { SimpleIRError } from '../../core/errors.js';
import { pullSource, type PullProducer, type PullSource } from '../../streams/pull.js';
import { Mp4Demuxer, type Mp4Info, type Mp4TrackKind } from './mp4-demuxer.js';
import { openByteReader, type ByteReader, type Mp4Input } from './mp4-reader.js';

/** Options of {@link fromMp4}. */
export interface Mp4SourceOptions {
  /** Called with the file's track info once its header is read (each subscription). */
  readonly onInfo?: (info: Mp4Info) => void;
  /** Frames decoded ahead of the consumer's demand, at most (default 2). */
  readonly decodeAhead?: number;
  /** Chunks queued in the decoder, at most (default 4). */
  readonly maxDecodeQueue?: number;
  /** Passed to `VideoDecoder.configure` (default `no-preference`). */
  readonly hardwareAcceleration?: HardwareAcceleration;
}

/** An MP4 file as a source of `VideoFrame`s, with its track info. The subscriber closes each frame. */
export interface Mp4Source extends PullSource<VideoFrame> {
  /** What was given to {@link fromMp4}. */
  readonly input: Mp4Input;
  /** The file's tracks (codec, size, frame count, fps, audio); reads the header on first use. */
  readonly info: Promise<Mp4Info>;
  /** A fresh demuxer over the same bytes, handing out the samples of `kind` (e.g. `toMp4` copies the audio this way); close it when done. */
  demux(kind?: Mp4TrackKind): Promise<Mp4Demuxer>;
}

/**
 * The frames of an MP4 file: a Blob or File, an ArrayBuffer or typed array, or a URL (read with HTTP range
 * requests as the demuxer needs the bytes, so the first frame does not wait for the whole file; fetched
 * whole from a server that ignores `Range`).
 * Frames come in presentation order with timestamps in microseconds and durations, as the edit list
 * presents them: a file made by ffmpeg starts at 0, and the frames a cut (`ffmpeg -ss 0.1 -c copy`)
 * keeps only as references are decoded but not emitted. Frames are the pictures as stored: a display
 * matrix (rotation) and a pixel aspect ratio are not applied but reported in the info
 * (`matrix`, `rotation`, `pixelAspectRatio`), and `toMp4({ source })` writes them into its output.
 * Decoding is demand-driven: at most `decodeAhead` frames beyond what the consumer requested, and at
 * most `maxDecodeQueue` chunks in the decoder.
 * Unsubscribing closes the decoder and every frame not handed out.
 *
 * Errors: `UNSUPPORTED_CODEC` when `VideoDecoder` cannot decode the track (e.g. HEVC where the browser
 * has no HEVC), `CORRUPT_INPUT` for a damaged or truncated file or undecodable data, `UNSUPPORTED_FORMAT`
 * without a video track, `IO_ERROR` when a URL cannot be fetched.
 */
export function fromMp4(input: Mp4Input, options: Mp4SourceOptions = {}): Mp4Source {
  const decodeAhead = options.decodeAhead ?? 2;
  const maxDecodeQueue = options.maxDecodeQueue ?? 4;
  if (!Number.isInteger(decodeAhead) || decodeAhead < 0) throw new SimpleIRError('INVALID_ARGUMENT', `decodeAhead must be an integer >= 0, got ${String(decodeAhead)}`);
  if (!Number.isInteger(maxDecodeQueue) || maxDecodeQueue < 1) throw new SimpleIRError('INVALID_ARGUMENT', `maxDecodeQueue must be an integer >= 1, got ${String(maxDecodeQueue)}`);
  let reader: Promise<ByteReader> | undefined;
  const openReader = (): Promise<ByteReader> => (reader ??= openByteReader(input));
  let info: Promise<Mp4Info> | undefined;
  const demux = async (kind: Mp4TrackKind = 'video'): Promise<Mp4Demuxer> => Mp4Demuxer.open(await openReader(), kind);
  const source = pullSource<VideoFrame>((producer) => {
    const run = new DecodeRun(producer, { ...options, decodeAhead, maxDecodeQueue }, demux, (i) => {
      info ??= Promise.resolve(i);
    });
    void run.start();
    return () => run.close();
  }) as Mp4Source;
  Object.defineProperties(source, {
    input: { value: input, enumerable: true },
    info: {
      enumerable: true,
      get: () =>
        (info ??= demux('none').then((d) => {
          d.close();
          return d.info;
        })),
    },
    demux: { value: demux },
  });
  return source;
}

interface RunOptions extends Mp4SourceOptions {
  readonly decodeAhead: number;
  readonly maxDecodeQueue: number;
}

/** A `SimpleIRError` for whatever went wrong while decoding. */
function decodeError(e: unknown): SimpleIRError {
  if (e instanceof SimpleIRError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new SimpleIRError('CORRUPT_INPUT', `the MP4's video could not be decoded: ${message}`, {}, { cause: e });
}

/**
 * `frame` at its stored size: a decoder shows an anamorphic picture (pixel aspect ratio not 1:1) at a
 * display size scaled to square pixels (160x96 at 16:15 as 171x96). The SDK works on the stored pixels
 * and carries the ratio in the track info instead (`toMp4` writes it back as a `pasp` box).
 */
function storedSize(frame: VideoFrame): VideoFrame {
  const r = frame.visibleRect;
  if (!r || (r.width === frame.displayWidth && r.height === frame.displayHeight)) return frame;
  try {
    return new VideoFrame(frame, { displayWidth: r.width, displayHeight: r.height });
  } finally {
    frame.close();
  }
}

async function isDecodable(config: VideoDecoderConfig): Promise<boolean> {
  try {
    return (await VideoDecoder.isConfigSupported(config)).supported === true;
  } catch {
    return false;
  }
}

/**
 * The same H.264 config with its codec string at level 5.1, or null for another codec. A stream's avcC
 * may carry a level Chromium's codec-string check refuses (WebCodecs' own encoder writes level_idc 9,
 * "1b", for small frames: `avc1.640c09`), while the decoder, configured by the avcC, decodes it.
 */
function h264AtLevel51(config: VideoDecoderConfig): VideoDecoderConfig | null {
  const m = /^(avc[13]\.[0-9a-f]{4})[0-9a-f]{2}$/i.exec(config.codec);
  if (!m || !config.description) return null;
  return { ...config, codec: `${m[1]}33` };
}

/** One subscription: demux, decode on demand, emit. */
class DecodeRun {
  private demuxer: Mp4Demuxer | undefined;
  private decoder: VideoDecoder | undefined;
  private readonly ready: VideoFrame[] = [];
  /** Timestamps (µs) of the samples the edit list cuts: decoded as references, closed, not emitted. */
  private readonly hidden = new Set<number>();
  private signal: (() => void) | null = null;
  private closed = false;
  private failure: SimpleIRError | null = null;

  constructor(
    private readonly producer: PullProducer<VideoFrame>,
    private readonly options: RunOptions,
    private readonly demux: (kind?: Mp4TrackKind) => Promise<Mp4Demuxer>,
    private readonly onInfo: (info: Mp4Info) => void,
  ) {}

  async start(): Promise<void> {
    try {
      if (typeof VideoDecoder === 'undefined') throw new SimpleIRError('UNSUPPORTED_CODEC', 'this runtime has no VideoDecoder (WebCodecs); fromMp4 needs it');
      const demuxer = await this.demux();
      if (this.closed) {
        demuxer.close();
        return;
      }
      this.demuxer = demuxer;
      this.onInfo(demuxer.info);
      this.options.onInfo?.(demuxer.info);
      const decoder = await this.openDecoder(demuxer);
      if (this.closed) return;
      await this.run(decoder, demuxer);
    } catch (e) {
      this.fail(decodeError(e));
    }
  }

  /** Releases everything; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.wake();
    for (const f of this.ready.splice(0)) f.close();
    if (this.decoder && this.decoder.state !== 'closed') this.decoder.close();
    this.demuxer?.close();
  }

  private async openDecoder(demuxer: Mp4Demuxer): Promise<VideoDecoder> {
    const found: VideoDecoderConfig = { ...demuxer.decoderConfig(), hardwareAcceleration: this.options.hardwareAcceleration ?? 'no-preference' };
    let config = found;
    let supported = await isDecodable(config);
    const level51 = h264AtLevel51(config);
    if (!supported && level51 && (await isDecodable(level51))) {
      config = level51;
      supported = true;
    }
    if (!supported) {
      throw new SimpleIRError('UNSUPPORTED_CODEC', `this browser cannot decode ${config.codec} video (${config.codedWidth}x${config.codedHeight}); re-encode the file as H.264, VP9 or AV1`, {
        codec: config.codec,
      });
    }
    const decoder = new VideoDecoder({
      output: (frame) => {
        if (this.closed || this.hidden.delete(frame.timestamp)) frame.close();
        else this.ready.push(storedSize(frame));
        this.wake();
      },
      error: (e) => {
        this.failure ??= decodeError(e);
        this.wake();
      },
    });
    decoder.addEventListener('dequeue', () => this.wake());
    decoder.configure(config);
    this.decoder = decoder;
    if (this.closed) decoder.close();
    return decoder;
  }

  /** Feeds the decoder while the consumer wants frames, emits them, flushes at the end. */
  private async run(decoder: VideoDecoder, demuxer: Mp4Demuxer): Promise<void> {
    const { timescale } = demuxer.info.video;
    const us = (units: number): number => Math.round((units * 1e6) / timescale);
    let inputDone = false;
    let flushed = false;
    // A file that breaks off (truncated, damaged further in) still gives the frames before the break.
    let endError: SimpleIRError | null = null;
    while (!this.closed) {
      if (this.failure) throw this.failure;
      while (this.ready.length > 0 && this.producer.demand > 0 && !this.closed) this.producer.next(this.ready.shift()!);
      if (this.closed) return;
      if (flushed && this.ready.length === 0) {
        if (endError) throw endError;
        this.producer.complete();
        return;
      }
      const want = this.producer.demand + this.options.decodeAhead;
      // Feed while frames are wanted and the decoder's queue has room. A decoder that holds frames
      // back for reordering shows an empty queue: it needs more input before it outputs.
      const feed = !inputDone && this.ready.length < want && decoder.decodeQueueSize < this.options.maxDecodeQueue && (decoder.decodeQueueSize === 0 || this.ready.length + decoder.decodeQueueSize < want);
      if (feed) {
        let next: Awaited<ReturnType<Mp4Demuxer['nextSample']>> = null;
        try {
          next = await demuxer.nextSample();
        } catch (e) {
          endError = decodeError(e);
        }
        if (this.closed) return;
        if (next) {
          const { sample, pts, duration, shown } = next;
          if (!shown) this.hidden.add(us(pts));
          decoder.decode(new EncodedVideoChunk({ type: sample.is_sync ? 'key' : 'delta', timestamp: us(pts), duration: us(duration), data: sample.data! }));
          demuxer.release(sample);
        } else {
          inputDone = true;
          await decoder.flush();
          flushed = true;
        }
        continue;
      }
      await this.waitForWork();
    }
  }

  /** Resolves on a decoder event, or on new demand when frames are waiting for it. */
  private waitForWork(): Promise<void> {
    const decoderEvent = new Promise<void>((resolve) => {
      this.signal = resolve;
    });
    if (this.producer.demand > 0 || this.ready.length === 0) return decoderEvent;
    return Promise.race([decoderEvent, this.producer.waitForDemand()]);
  }

  private wake(): void {
    const s = this.signal;
    this.signal = null;
    s?.();
  }

  private fail(e: SimpleIRError): void {
    if (this.closed) return;
    this.close();
    // close() marked the run closed; the producer is still open and takes the error.
    this.producer.error(e);
  }
}
