/**
 * The importer's input: a file with a relative path that can be streamed and sliced.
 * A browser drop (File / FileSystemFileEntry, see browser-files.ts), a `webkitdirectory` input,
 * Node (`fs.openAsBlob`, see node-files.ts) and tests (`{ path, bytes }`) all produce it.
 * Nothing here reads a whole large file at once: JSONL is streamed, Parquet is sliced.
 */

export interface ImportFile {
  /** Path inside the import with '/' separators, e.g. "asp_benchmark/n_queens/NL.txt". */
  readonly path: string;
  /** Size in bytes. */
  readonly size: number;
  /** The bytes as a stream (Blob.stream()). */
  stream(): ReadableStream<Uint8Array>;
  /** Bytes [start, end) (Blob.slice().arrayBuffer()). */
  slice(start: number, end: number): Promise<Uint8Array>;
}

/** Anything with Blob's reading methods (File, Blob, Node's fs.openAsBlob result). */
export interface BlobLike {
  readonly size: number;
  stream(): ReadableStream<Uint8Array>;
  slice(start?: number, end?: number): { arrayBuffer(): Promise<ArrayBuffer> };
}

/** A file the walker found but could not read (a broken link, a FIFO, no permission): listed as skipped. */
export interface UnreadableInput {
  path: string;
  unreadable: string;
}

export type ImportInput =
  | ImportFile
  | { path: string; bytes: Uint8Array }
  | { path: string; blob: BlobLike }
  | UnreadableInput
  | (BlobLike & { name: string; webkitRelativePath?: string });

export function isUnreadable(input: ImportInput): input is UnreadableInput {
  return 'unreadable' in input && typeof input.unreadable === 'string';
}

export function fileFromBytes(path: string, bytes: Uint8Array): ImportFile {
  return {
    path: normalizePath(path),
    size: bytes.byteLength,
    stream() {
      let sent = false;
      return new ReadableStream<Uint8Array>({
        pull(controller) {
          if (!sent && bytes.byteLength > 0) controller.enqueue(bytes);
          sent = true;
          controller.close();
        },
      });
    },
    async slice(start, end) {
      return bytes.subarray(start, Math.min(end, bytes.byteLength));
    },
  };
}

export function fileFromBlob(path: string, blob: BlobLike): ImportFile {
  return {
    path: normalizePath(path),
    size: blob.size,
    stream: () => blob.stream(),
    async slice(start, end) {
      return new Uint8Array(await blob.slice(start, Math.min(end, blob.size)).arrayBuffer());
    },
  };
}

function isImportFile(input: ImportInput): input is ImportFile {
  return 'path' in input && 'slice' in input && 'stream' in input && typeof input.size === 'number';
}

/** Turns any accepted input (but an unreadable one) into an ImportFile. */
export function toImportFile(input: Exclude<ImportInput, UnreadableInput>): ImportFile {
  if ('bytes' in input) return fileFromBytes(input.path, input.bytes);
  if ('blob' in input) return fileFromBlob(input.path, input.blob);
  if (isImportFile(input)) return input;
  const rel = 'webkitRelativePath' in input && input.webkitRelativePath ? input.webkitRelativePath : input.name;
  return fileFromBlob(rel, input);
}

/** '/'-separated, no leading './' or '/', no empty segments. */
export function normalizePath(path: string): string {
  return path
    .replaceAll('\\', '/')
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .join('/');
}

export function basename(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? path : path.slice(i + 1);
}

export function dirname(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

export function extension(path: string): string {
  const name = basename(path);
  const i = name.lastIndexOf('.');
  return i <= 0 ? '' : name.slice(i + 1).toLowerCase();
}
