/** Drag-over highlighting for a drop zone: `over` while files hover it, and the handlers that keep it right. */
import type { TargetedDragEvent } from 'preact';
import { useState } from 'preact/hooks';

type Drag = TargetedDragEvent<HTMLDivElement>;
interface Handlers {
  onDragEnter: (e: Drag) => void;
  onDragOver: (e: Drag) => void;
  onDragLeave: (e: Drag) => void;
  onDrop: (e: Drag) => void;
}

export function useDragOver(onDrop: (e: DragEvent) => void): [boolean, Handlers] {
  const [over, setOver] = useState(false);
  return [
    over,
    {
      onDragEnter: (e) => {
        e.preventDefault();
        setOver(true);
      },
      onDragOver: (e) => {
        e.preventDefault();
        if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
        setOver(true);
      },
      onDragLeave: (e) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setOver(false);
      },
      onDrop: (e) => {
        setOver(false);
        onDrop(e);
      },
    },
  ];
}
