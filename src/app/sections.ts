/** The app's sections, addressed by the URL hash (#/model, #/train, …) so a reload returns to the same place. */
import { useEffect, useState } from 'preact/hooks';

/**
 * In the order of the work: pick a model, bring data, train, try the result, export it; the GPU's details last.
 * `label` is the link in the header, `title` the page's one <h1> (and the tab's title).
 */
export const SECTIONS = [
  { id: 'model', label: 'Model', title: 'Choose a base model' },
  { id: 'data', label: 'Data', title: 'Bring your training data' },
  { id: 'train', label: 'Train', title: 'Train an adapter' },
  { id: 'try', label: 'Try it', title: 'Try a model and its adapter' },
  { id: 'export', label: 'Export', title: 'Export a trained adapter' },
  { id: 'gpu', label: 'GPU', title: 'Your GPU' },
] as const;
export type SectionId = (typeof SECTIONS)[number]['id'];

function fromHash(): SectionId {
  const id = location.hash.replace(/^#\/?/, '').split('/')[0];
  return (SECTIONS.find((s) => s.id === id)?.id ?? SECTIONS[0].id) as SectionId;
}

export function useSection(): [SectionId, (id: SectionId) => void] {
  const [section, setSection] = useState<SectionId>(fromHash);
  useEffect(() => {
    const onHash = () => setSection(fromHash());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  return [section, (id) => (location.hash = `#/${id}`)];
}
