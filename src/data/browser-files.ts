/**
 * Browser inputs → `{ path, blob }` import inputs: a `<input type="file" webkitdirectory>` FileList
 * (each File has webkitRelativePath) and a drag-and-drop DataTransferItemList (folders walked
 * through FileSystemDirectoryEntry). Files are not read here; the importer streams them. The
 * results can be posted to the import worker as they are (File objects clone without copying).
 */
import { normalizePath, type UnreadableInput } from './inputs.ts';

export interface DroppedFile {
  path: string;
  blob: File;
}

/** Files of a file input; folder inputs keep their relative paths ("dataset/train.jsonl"). */
export function filesFromFileList(list: Iterable<File>): DroppedFile[] {
  return [...list].map((f) => ({ path: normalizePath(f.webkitRelativePath || f.name), blob: f }));
}

/** The parts of the File and Directory Entries API the walker uses. */
export interface EntryLike {
  readonly isFile: boolean;
  readonly isDirectory: boolean;
  readonly name: string;
  readonly fullPath: string;
}
export interface FileEntryLike extends EntryLike {
  file(success: (file: File) => void, error?: (err: unknown) => void): void;
}
export interface DirectoryEntryLike extends EntryLike {
  createReader(): { readEntries(success: (entries: EntryLike[]) => void, error?: (err: unknown) => void): void };
}

function fileOf(entry: FileEntryLike): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

/** readEntries returns at most ~100 entries per call: call it until it returns none. */
async function children(dir: DirectoryEntryLike): Promise<EntryLike[]> {
  const reader = dir.createReader();
  const all: EntryLike[] = [];
  for (;;) {
    const batch = await new Promise<EntryLike[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return all;
    all.push(...batch);
  }
}

function errorName(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/**
 * Walks dropped entries (files and folders) into inputs with paths relative to the drop. The
 * browser resolves symbolic links itself (a link to a file arrives as that file). An entry the
 * browser will not hand over (a broken link, a file removed meanwhile, no permission) is added to
 * `unreadable` with the browser's reason when that list is given (the importer lists it as
 * skipped); without it, the walk fails with that error.
 */
export async function filesFromEntries(entries: EntryLike[], unreadable?: UnreadableInput[]): Promise<DroppedFile[]> {
  const out: DroppedFile[] = [];
  const visit = async (entry: EntryLike): Promise<void> => {
    const path = normalizePath(entry.fullPath || entry.name);
    try {
      if (entry.isFile) {
        out.push({ path, blob: await fileOf(entry as FileEntryLike) });
      } else if (entry.isDirectory) {
        for (const child of await children(entry as DirectoryEntryLike)) await visit(child);
      } else {
        throw new Error('neither a file nor a folder');
      }
    } catch (err) {
      if (!unreadable) throw err;
      unreadable.push({ path, unreadable: `the browser could not read it (${errorName(err)})` });
    }
  };
  for (const e of entries) await visit(e);
  return out;
}

/**
 * Files of a drop. Entries must be taken synchronously inside the drop handler (the list is
 * emptied afterwards), so call this directly from the `drop` event.
 */
export function filesFromDataTransfer(
  items: DataTransferItemList,
  unreadable?: UnreadableInput[],
): Promise<DroppedFile[]> {
  const entries: EntryLike[] = [];
  const loose: File[] = [];
  for (const item of Array.from(items)) {
    if (item.kind !== 'file') continue;
    const entry = item.webkitGetAsEntry();
    if (entry) entries.push(entry);
    else {
      const f = item.getAsFile();
      if (f) loose.push(f);
    }
  }
  return filesFromEntries(entries, unreadable).then((files) => [...files, ...filesFromFileList(loose)]);
}
