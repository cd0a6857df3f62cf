/**
 * Fragmented MP4 writing with mp4box, one piece at a time: a header (ftyp, and a moov whose tracks have
 * empty sample tables), then a fragment (moof + mdat) per sample, each handed to `write` as soon as it is
 * made. Nothing but the sample being written is kept, so a long file needs no more memory than a short one.
 */
import { BoxParser, createFile, DataStream, Endianness, type ISOFile, type Sample } from 'mp4box';
import { SimpleIRError } from '../../core/errors.js';
import type { Mp4Demuxer } from './mp4-demuxer.js';

/** Where the muxer's bytes go, in file order. */
export type WriteBytes = (bytes: Uint8Array) => void;

/** Timing of one sample, in track units. */
export interface SampleTiming {
  readonly duration: number;
  readonly dts: number;
  readonly cts: number;
  readonly isSync: boolean;
}

/** What `addTrack` of mp4box takes (the fields this SDK uses). */
export type TrackOptions = Parameters<ISOFile['addTrack']>[0];

interface TrakLike {
  first_dts: number;
  tkhd: { track_id: number; matrix: number[]; width: number };
  mdia: { mdhd: { timescale: number }; minf: { stbl: { stsd: { entries: Sample['description'][] } } } };
  addBox<T>(box: T): T;
}

/** Bytes of a box as written. */
function boxBytes(box: { write(stream: DataStream): void }): Uint8Array {
  const stream = new DataStream(undefined, 0, Endianness.BIG_ENDIAN);
  box.write(stream);
  return new Uint8Array(stream.buffer);
}

/** A fragmented MP4 being written: add the tracks, {@link writeHeader}, then {@link writeSample} in file order. */
export class FragmentedMp4Writer {
  private readonly file: ISOFile = createFile();
  private readonly counts = new Map<number, number>();
  private headerWritten = false;

  constructor(private readonly write: WriteBytes) {}

  /** Adds a track (before {@link writeHeader}); returns its id. */
  addTrack(options: TrackOptions): number {
    if (this.headerWritten) throw new SimpleIRError('INVALID_ARGUMENT', 'FragmentedMp4Writer: tracks are added before the header is written');
    const id = this.file.addTrack(options);
    if (typeof id !== 'number') throw new SimpleIRError('INVALID_ARGUMENT', `FragmentedMp4Writer: mp4box cannot write a '${String(options?.type)}' track`);
    return id;
  }

  /** The track box of `id`, to adjust its header or sample entry before {@link writeHeader}. */
  trak(id: number): TrakLike {
    return this.file.getTrackById(id) as unknown as TrakLike;
  }

  /** Writes ftyp and moov. */
  writeHeader(): void {
    this.headerWritten = true;
    for (const box of this.file.boxes) this.write(boxBytes(box));
  }

  /** Writes one sample of track `id` as a fragment: moof, then mdat with `data`. */
  writeSample(id: number, data: Uint8Array, timing: SampleTiming): void {
    const trak = this.trak(id);
    const number = this.counts.get(id) ?? 0;
    // The fragments' decode times count from the track's first sample (as mp4box's addSample does).
    if (number === 0) trak.first_dts = timing.dts;
    this.counts.set(id, number + 1);
    const sample: Sample = {
      number,
      track_id: id,
      timescale: trak.mdia.mdhd.timescale,
      description_index: 0,
      description: trak.mdia.minf.stbl.stsd.entries[0]!,
      data: data as Uint8Array<ArrayBuffer>,
      size: data.byteLength,
      alreadyRead: data.byteLength,
      duration: timing.duration,
      cts: timing.cts,
      dts: timing.dts,
      is_sync: timing.isSync,
      is_leading: 0,
      depends_on: 0,
      is_depended_on: 0,
      has_redundancy: 0,
      degradation_priority: 0,
      offset: 0,
    };
    const moof = this.file.createMoof([sample]);
    moof.computeSize();
    // The sample's data follows the moof and the 8-byte mdat header.
    moof.trafs[0]!.truns[0]!.data_offset = moof.size + 8;
    this.write(boxBytes(moof));
    const header = new DataView(new ArrayBuffer(8));
    header.setUint32(0, 8 + data.byteLength);
    header.setUint32(4, 0x6d646174); // 'mdat'
    this.write(new Uint8Array(header.buffer));
    this.write(data);
  }
}

/**
 * Adds the audio track of `demuxer` (if it has one) to `writer`: its sample entry and edit list, with
 * the edits' durations converted to `movieTimescale`. Returns the new track's id, or null without audio.
 */
export function addAudioTrack(writer: FragmentedMp4Writer, demuxer: Mp4Demuxer, movieTimescale: number): number | null {
  const audio = demuxer.info.audio;
  if (!audio) return null;
  const entry = demuxer.sampleEntry(audio.id) as { type: string; boxes?: unknown[]; channel_count?: number; samplesize?: number; samplerate?: number };
  const track = demuxer.track(audio.id);
  const id = writer.addTrack({
    type: entry.type as never,
    hdlr: 'soun',
    timescale: audio.timescale,
    samplerate: entry.samplerate,
    channel_count: entry.channel_count,
    samplesize: entry.samplesize,
    description_boxes: (entry.boxes ?? []) as never,
    name: 'SoundHandler',
  });
  const edits = track.edits ?? [];
  if (edits.length > 0) {
    const box = BoxParser.box as unknown as Record<string, new () => { addBox<T>(b: T): T; entries?: unknown[] }>;
    const edts = writer.trak(id).addBox(new box.edts!());
    const elst = edts.addBox(new box.elst!());
    elst.entries = edits.map((e) => ({
      segment_duration: Math.round((e.segment_duration * movieTimescale) / track.movie_timescale),
      media_time: e.media_time,
      media_rate_integer: e.media_rate_integer,
      media_rate_fraction: e.media_rate_fraction,
    }));
  }
  return id;
}
