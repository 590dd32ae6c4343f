/**
 * The import settings as the form edits them (percentages, a system-prompt mode) and their
 * conversion to the importer's settings. Every default comes from src/schema/dataset.ts.
 */
import {
  ASP_EXPERT_SYSTEM_PROMPT,
  type FieldMapping,
  ImportSettingsSchema,
  type ImportSettingsInput,
  type MaskMode,
  type OverLength,
  type SourceFormat,
} from '../../schema/dataset.ts';

export type SystemMode = 'default' | 'none' | 'custom';

export interface SettingsForm {
  trainPercent: number;
  testPercent: number;
  seed: number;
  maxLength: number;
  overLength: OverLength;
  mask: MaskMode;
  /** '' = detect. */
  format: SourceFormat | '';
  systemMode: SystemMode;
  /** The custom system prompt (used when systemMode is 'custom'). */
  systemPrompt: string;
  /** Field mapping per source path (pairs sources). */
  mappings: Record<string, FieldMapping>;
}

export type SettingsErrors = Partial<Record<keyof SettingsForm, string>>;

const DEFAULTS = ImportSettingsSchema.parse({});

const percent = (fraction: number) => Math.round(fraction * 10000) / 100;

export function defaultForm(): SettingsForm {
  const prompt = DEFAULTS.systemPrompt;
  return {
    trainPercent: percent(DEFAULTS.trainFraction),
    testPercent: percent(DEFAULTS.testFraction),
    seed: DEFAULTS.seed,
    maxLength: DEFAULTS.maxLength,
    overLength: DEFAULTS.overLength,
    mask: DEFAULTS.mask,
    format: DEFAULTS.format ?? '',
    systemMode: prompt === undefined ? 'default' : prompt === '' ? 'none' : 'custom',
    systemPrompt: prompt ?? '',
    mappings: { ...DEFAULTS.mappings },
  };
}

/** What "default" means for the system prompt, in words (the prompt itself comes from the schema). */
export const DEFAULT_SYSTEM_PROMPT_NOTE =
  'Problem folders get the ASP-expert prompt; other records keep what they have.';
export const DEFAULT_SYSTEM_PROMPT_TEXT = ASP_EXPERT_SYSTEM_PROMPT;

function fieldOf(path: PropertyKey[]): keyof SettingsForm {
  switch (path[0]) {
    case 'trainFraction':
      return 'trainPercent';
    case 'testFraction':
      return 'testPercent';
    case 'seed':
    case 'maxLength':
    case 'overLength':
    case 'mask':
    case 'format':
    case 'systemPrompt':
      return path[0];
    case 'mapping':
    case 'mappings':
      return 'mappings';
    default:
      // The only object-level rule: train + test must fit in 100 %.
      return 'testPercent';
  }
}

const MESSAGES: Partial<Record<keyof SettingsForm, string>> = {
  trainPercent: 'Enter a share between 0 and 100 %.',
  seed: 'Enter a whole number.',
  maxLength: 'Enter a whole number of tokens, 8 or more.',
  mappings: 'Every mapping needs at least one prompt field and an answer field.',
};

export function toSettings(
  form: SettingsForm,
): { ok: true; settings: ImportSettingsInput } | { ok: false; errors: SettingsErrors } {
  const input: ImportSettingsInput = {
    trainFraction: form.trainPercent / 100,
    testFraction: form.testPercent / 100,
    seed: form.seed,
    maxLength: form.maxLength,
    overLength: form.overLength,
    mask: form.mask,
    mappings: form.mappings,
  };
  if (form.format) input.format = form.format;
  if (form.systemMode === 'none') input.systemPrompt = '';
  if (form.systemMode === 'custom') input.systemPrompt = form.systemPrompt;
  const parsed = ImportSettingsSchema.safeParse(input);
  if (parsed.success) return { ok: true, settings: input };
  const errors: SettingsErrors = {};
  for (const issue of parsed.error.issues) {
    const field = fieldOf(issue.path);
    if (errors[field]) continue;
    if (field === 'testPercent') {
      const sum = form.trainPercent + form.testPercent;
      errors.testPercent =
        form.testPercent < 0 || form.testPercent > 100 || Number.isNaN(form.testPercent)
          ? 'Enter a share between 0 and 100 %.'
          : `Train and test add up to ${sum} %; together they can be at most 100 %.`;
    } else errors[field] = MESSAGES[field] ?? issue.message;
  }
  return { ok: false, errors };
}

/** "a, b" → ["a", "b"]; the mapping editor's prompt field list. */
export function parseFieldList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
