/** The files an export wrote, with sizes, and where they went. */
import type { ExportedFileInfo } from '../../worker/contract.ts';
import { formatBytes } from '../format.ts';

export function ExportedFiles({ files, where }: { files: ExportedFileInfo[]; where: string }) {
  const total = files.reduce((s, f) => s + f.bytes, 0);
  return (
    <div class="export-done" data-testid="export-done">
      <p class="ok-text" role="status">
        {where}
      </p>
      <table class="data-table export-files" data-testid="export-files">
        <thead>
          <tr>
            <th scope="col">File</th>
            <th scope="col" class="num">
              Size
            </th>
          </tr>
        </thead>
        <tbody>
          {files.map((f) => (
            <tr>
              <td>
                <code class="path">{f.name}</code>
              </td>
              <td class="num">{formatBytes(f.bytes)}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr>
            <th scope="row">
              {files.length} file{files.length === 1 ? '' : 's'}
            </th>
            <td class="num">{formatBytes(total)}</td>
          </tr>
        </tfoot>
      </table>
    </div>
  );
}
