/** zod's validation issues as one line for an error message. */
import type { z } from 'zod';

/** At most this many issues are listed; a file with 100 000 bad entries still gives a short message. */
const SHOWN = 5;

/** `path: message; …` for the first issues, then `(and N more)`. */
export function formatIssues(error: z.ZodError): string {
  const shown = error.issues
    .slice(0, SHOWN)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
  const more = error.issues.length - SHOWN;
  return more > 0 ? `${shown} (and ${more} more)` : shown;
}
