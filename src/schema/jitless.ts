/**
 * Zod without `new Function`: by default zod compiles each object schema's parser into a function when it is built,
 * probing first with `new Function("")`. The app's Content-Security-Policy allows no `eval` (src/app/csp.ts), so that
 * probe would be reported as a policy violation in every page and worker. `jitless` makes zod interpret its schemas
 * and skip the probe. It is read when a schema is constructed, so every entry point (the page, each worker) imports
 * this module first, before any module that defines a schema.
 */
import { z } from 'zod';

z.config({ jitless: true });
