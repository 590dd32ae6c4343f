/**
 * Random-access byte sources: model files are read piece by piece (a header, then one tensor at a time), so host
 * memory stays near the largest tensor rather than the whole file. Browser-safe; the Node file source lives in
 * byte-source-node.ts.
 */

export interface ByteSource {
  /** Total size in bytes. */
  readonly size: number;
  /** Exactly `length` bytes starting at `offset`; rejects when the range is outside [0, size]. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** A name for error messages (file name or URL), when known. */
  readonly name?: string;
}

/** Error for a byte range outside a source: names the source so the user knows which file is truncated. */
export class ByteRangeError extends Error {
  constructor(sourceName: string, offset: number, length: number, size: number) {
    super(
      `${sourceName}: cannot read ${length} bytes at offset ${offset}: the file has ${size} bytes (truncated or corrupt?)`,
    );
    this.name = 'ByteRangeError';
  }
}

export function sourceName(source: ByteSource, fallback = 'file'): string {
  return source.name ?? fallback;
}

/** Throws ByteRangeError unless [offset, offset+length) lies inside a source of `size` bytes. */
export function checkRange(name: string, offset: number, length: number, size: number): void {
  if (
    !Number.isSafeInteger(offset) ||
    !Number.isSafeInteger(length) ||
    offset < 0 ||
    length < 0 ||
    offset + length > size
  ) {
    throw new ByteRangeError(name, offset, length, size);
  }
}

/** A source over bytes already in memory (tests, small files, downloaded buffers). Reads return views, not copies. */
export class MemoryByteSource implements ByteSource {
  readonly size: number;
  constructor(
    private readonly bytes: Uint8Array,
    readonly name = 'memory',
  ) {
    this.size = bytes.byteLength;
  }

  read(offset: number, length: number): Promise<Uint8Array> {
    try {
      checkRange(this.name, offset, length, this.size);
    } catch (err) {
      return Promise.reject(err);
    }
    return Promise.resolve(this.bytes.subarray(offset, offset + length));
  }
}

/** A source over a browser `Blob` or `File` (dropped files, OPFS files, IndexedDB blobs): reads slice the blob. */
export class BlobByteSource implements ByteSource {
  readonly size: number;
  readonly name: string;
  constructor(
    private readonly blob: Blob,
    name?: string,
  ) {
    this.size = blob.size;
    this.name = name ?? (typeof File !== 'undefined' && blob instanceof File ? blob.name : 'blob');
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.name, offset, length, this.size);
    const buffer = await this.blob.slice(offset, offset + length).arrayBuffer();
    if (buffer.byteLength !== length) throw new ByteRangeError(this.name, offset, length, this.size);
    return new Uint8Array(buffer);
  }
}
