/** Types of scripts/import-rules.mjs (for the tests that call it). */
export const LAYERS: Record<string, readonly string[]>;
export const OUTSIDE: Record<string, readonly string[]>;
export function layerOf(path: string): string;
export function importsOf(path: string, text: string): { from: string; to: string; line: number; exempt: boolean }[];
export function circles(edges: readonly { from: string; to: string }[]): string[][];
export function checkImports(files: readonly { path: string; text: string }[]): string[];
