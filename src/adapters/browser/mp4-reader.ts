/**
 * Random access to the bytes of an MP4 input, for the demuxer: a Blob or bytes directly; a file at a URL
 * with HTTP range requests: the demuxer asks for the header boxes, the moov (at either end) and the media
 * data as it needs them, so the first frame comes after a few requests, not after the whole file. A server
 * that ignores `Range` answers with the whole file, which is then read from memory.
 */
import { SimpleIRError } from '../../core/errors.js';

/** What {@link fromMp4} reads: a Blob or File, bytes, or the URL of a file. */
export type Mp4Input = Blob | ArrayBuffer | ArrayBufferView | URL | string;

/** Random access to the bytes of a file. */
export interface ByteReader {
  /** Total size in bytes. */
  readonly size: number;
  /** `length` bytes from `offset` (fewer at the end). */
  read(offset: number, length: number): Promise<ArrayBuffer>;
}

/**
 * A reader over the input: a Blob and bytes directly; a URL with HTTP range requests as the demuxer needs
 * the bytes (fetched whole when the server does not answer ranges).
 */
export async function openByteReader(input: Mp4Input): Promise<ByteReader> {
  if (typeof input === 'string' || input instanceof URL) return openUrlReader(String(input));
  if (input instanceof Blob) return blobReader(input);
  if (input instanceof ArrayBuffer || ArrayBuffer.isView(input)) {
    const bytes = input instanceof ArrayBuffer ? new Uint8Array(input) : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    return {
      size: bytes.byteLength,
      read: async (offset, length) => bytes.slice(offset, Math.min(bytes.byteLength, offset + length)).buffer,
    };
  }
  throw new SimpleIRError('INVALID_ARGUMENT', 'fromMp4 takes a Blob, an ArrayBuffer or typed array, a URL or a URL string');
}

function blobReader(blob: Blob): ByteReader {
  return { size: blob.size, read: (offset, length) => blob.slice(offset, offset + length).arrayBuffer() };
}

/** Reads smaller than this go through a cache of blocks of this size (box headers are 8-16 bytes). */
const BLOCK = 64 * 1024;
/** Blocks kept (the most recent). */
const CACHED_BLOCKS = 16;

function ioError(url: string, message: string, cause?: unknown): SimpleIRError {
  return new SimpleIRError('IO_ERROR', `fromMp4(${url}): ${message}`, { url }, cause === undefined ? undefined : { cause });
}

async function get(url: string, from: number, to: number): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, { headers: { Range: `bytes=${from}-${to}` } });
  } catch (e) {
    throw ioError(url, `could not fetch it (${(e as Error).message}); check the address, the network, and that the server allows this origin (CORS)`, e);
  }
  if (!response.ok && response.status !== 416) throw ioError(url, `the server answered ${response.status} ${response.statusText}; check the address`);
  return response;
}

/** The total size from a `Content-Range: bytes a-b/total` header, or null. */
function totalSize(response: Response): number | null {
  const m = /\/(\d+)\s*$/.exec(response.headers.get('Content-Range') ?? '');
  return m ? Number(m[1]) : null;
}

/**
 * A {@link ByteReader} over the file at `url`: range requests when the server answers them (206 with a
 * `Content-Range` giving the size), else the whole body read once into a Blob.
 */
async function openUrlReader(url: string): Promise<ByteReader> {
  const first = await get(url, 0, BLOCK - 1);
  if (first.status === 416) return blobReader(new Blob([]));
  const size = first.status === 206 ? totalSize(first) : null;
  if (size === null) return blobReader(await first.blob());
  const blocks = new Map<number, ArrayBuffer>();
  blocks.set(0, await first.arrayBuffer());
  const fetchRange = async (from: number, to: number): Promise<ArrayBuffer> => {
    const response = await get(url, from, to);
    const body = await response.arrayBuffer();
    if (response.status === 206) return body;
    // The server sent the whole file this time: keep the part asked for.
    return body.slice(from, to + 1);
  };
  const block = async (index: number): Promise<ArrayBuffer> => {
    const cached = blocks.get(index);
    if (cached) return cached;
    const bytes = await fetchRange(index * BLOCK, Math.min(size, (index + 1) * BLOCK) - 1);
    blocks.set(index, bytes);
    if (blocks.size > CACHED_BLOCKS) blocks.delete(blocks.keys().next().value!);
    return bytes;
  };
  return {
    size,
    read: async (offset, length) => {
      const end = Math.min(size, offset + length);
      if (end <= offset) return new ArrayBuffer(0);
      const firstBlock = Math.floor(offset / BLOCK);
      if (end - offset >= BLOCK || Math.floor((end - 1) / BLOCK) !== firstBlock) return fetchRange(offset, end - 1);
      const bytes = await block(firstBlock);
      return bytes.slice(offset - firstBlock * BLOCK, end - firstBlock * BLOCK);
    },
  };
}
