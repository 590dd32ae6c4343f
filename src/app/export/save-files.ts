/** Where exports go in the browser: a folder the user picks (File System Access API), or a zip in the downloads. */

type DirectoryPicker = (options?: {
  id?: string;
  mode?: 'read' | 'readwrite';
  startIn?: string;
}) => Promise<FileSystemDirectoryHandle>;

/** The folder picker, or null where the browser has none (then exports come as a zip). */
export const directoryPicker = (): DirectoryPicker | null =>
  (globalThis as { showDirectoryPicker?: DirectoryPicker }).showDirectoryPicker ?? null;

/** Saves bytes as a download named `name`. */
export function saveBytes(bytes: Uint8Array, name: string): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/zip' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
