/**
 * Where a dataset comes in: drop folders or files (walked through DataTransferItem.webkitGetAsEntry),
 * or pick them with "Choose folder" (a webkitdirectory input) or "Choose files".
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { useDragOver } from '../drag.ts';
import { filesFromDataTransfer, filesFromFileList } from '../../data/browser-files.ts';
import type { UnreadableInput } from '../../data/inputs.ts';
import { choose } from './import-store.ts';

const ACCEPTED = '.jsonl,.ndjson,.json,.csv,.tsv,.tab,.parquet,.txt,.md';

/** A hidden file input; `folder` makes it pick a whole folder (webkitdirectory). */
export function HiddenFileInput(props: {
  folder?: boolean;
  multiple?: boolean;
  accept?: string;
  label: string;
  testId: string;
  inputRef: { current: HTMLInputElement | null };
  onFiles: (files: File[]) => void;
}) {
  const { folder, inputRef } = props;
  useEffect(() => {
    if (inputRef.current && folder) inputRef.current.webkitdirectory = true;
  }, [folder, inputRef]);
  return (
    <input
      ref={inputRef}
      type="file"
      class="visually-hidden"
      tabIndex={-1}
      aria-label={props.label}
      data-testid={props.testId}
      multiple={props.multiple}
      accept={props.accept}
      onChange={(e) => {
        const input = e.currentTarget;
        const files = Array.from(input.files ?? []);
        // Clear it, so choosing the same folder again (after editing a file) imports again.
        input.value = '';
        if (files.length) props.onFiles(files);
      }}
    />
  );
}

export function DropZone({ compact }: { compact: boolean }) {
  const [dropError, setDropError] = useState<string | null>(null);
  const folderInput = useRef<HTMLInputElement>(null);
  const filesInput = useRef<HTMLInputElement>(null);

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDropError(null);
    const dt = e.dataTransfer;
    if (!dt) return;
    // The item list is only readable during the event: walk it now.
    const unreadable: UnreadableInput[] = [];
    const walking =
      dt.items && dt.items.length > 0
        ? filesFromDataTransfer(dt.items, unreadable)
        : Promise.resolve(filesFromFileList(Array.from(dt.files)));
    walking.then(
      (files) => choose(files, 'drop', unreadable),
      (err: unknown) =>
        setDropError(
          `The browser did not let the page read what was dropped (${err instanceof Error ? err.message : String(err)}). Use "Choose folder" instead.`,
        ),
    );
  };
  const [over, dragHandlers] = useDragOver(onDrop);

  return (
    <div
      class={`dropzone${over ? ' over' : ''}${compact ? ' compact' : ''}`}
      data-testid="dropzone"
      role="group"
      aria-labelledby="dropzone-title"
      aria-describedby="dropzone-help"
      {...dragHandlers}
    >
      <svg class="drop-icon" viewBox="0 0 48 48" width="44" height="44" aria-hidden="true">
        <path
          d="M6 14a4 4 0 0 1 4-4h9l4 4h15a4 4 0 0 1 4 4v18a4 4 0 0 1-4 4H10a4 4 0 0 1-4-4z"
          fill="none"
          stroke="currentColor"
          stroke-width="2.5"
          stroke-linejoin="round"
        />
        <path
          d="M24 33V21m-5 5 5-5 5 5"
          fill="none"
          stroke="currentColor"
          stroke-width="2.5"
          stroke-linecap="round"
          stroke-linejoin="round"
        />
      </svg>
      <p class="drop-title" id="dropzone-title">
        {over ? 'Drop to import' : 'Drop a dataset folder or files here'}
      </p>
      <p class="muted drop-help" id="dropzone-help">
        JSON Lines, JSON, CSV/TSV, Parquet, problem folders (NL.txt or IR.txt with ASP.txt) and plain text. Files stay
        on this computer.
      </p>
      <div class="actions">
        <button type="button" class="button primary" onClick={() => folderInput.current?.click()}>
          Choose folder
        </button>
        <button type="button" class="button" onClick={() => filesInput.current?.click()}>
          Choose files
        </button>
      </div>
      <HiddenFileInput
        folder
        inputRef={folderInput}
        label="Dataset folder"
        testId="folder-input"
        onFiles={(f) => choose(filesFromFileList(f), 'folder')}
      />
      <HiddenFileInput
        multiple
        accept={ACCEPTED}
        inputRef={filesInput}
        label="Dataset files"
        testId="files-input"
        onFiles={(f) => choose(filesFromFileList(f), 'files')}
      />
      {dropError && (
        <p class="error-text" role="alert">
          {dropError}
        </p>
      )}
    </div>
  );
}
