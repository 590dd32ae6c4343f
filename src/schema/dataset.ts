/**
 * Dataset schemas: records, import settings, problems and the stored dataset metadata.
 * This file is the single home of the importer's defaults (split 0.8, seed 0, mask 'answers', ...).
 */
import { z } from 'zod';

export const DEFAULT_TRAIN_FRACTION = 0.8;
export const DEFAULT_TEST_FRACTION = 0;
export const DEFAULT_SEED = 0;
/** mlx-lm's default `max_seq_length`. */
export const DEFAULT_MAX_LENGTH = 2048;
export const DEFAULT_OVER_LENGTH = 'drop' as const;
export const DEFAULT_MASK = 'answers' as const;
export const DEFAULT_SPLIT_BY = 'source' as const;
/** System prompt added to problem-folder records (NL.txt / IR.txt → ASP.txt) that have none. */
export const ASP_EXPERT_SYSTEM_PROMPT =
  'You are an expert in Answer Set Programming (ASP). Given a problem description, ' +
  'write a clingo program that solves it. Answer with the program only.';

export const RoleSchema = z.enum(['system', 'user', 'assistant']);
export type Role = z.infer<typeof RoleSchema>;

export const MessageSchema = z.object({ role: RoleSchema, content: z.string() });
export type Message = z.infer<typeof MessageSchema>;

/** Where a record came from: the path inside the import and its 1-based line (row number for Parquet). */
export const ProvenanceSchema = z.object({ file: z.string(), line: z.number().int().min(1) });
export type Provenance = z.infer<typeof ProvenanceSchema>;

export const SplitSchema = z.enum(['train', 'valid', 'test']);
export type Split = z.infer<typeof SplitSchema>;

export const ChatRecordSchema = z.object({
  kind: z.literal('chat'),
  messages: z.array(MessageSchema).min(1),
  source: ProvenanceSchema,
  split: SplitSchema,
});
export const TextRecordSchema = z.object({
  kind: z.literal('text'),
  text: z.string(),
  source: ProvenanceSchema,
  split: SplitSchema,
});
export const DatasetRecordSchema = z.discriminatedUnion('kind', [ChatRecordSchema, TextRecordSchema]);
export type ChatRecord = z.infer<typeof ChatRecordSchema>;
export type TextRecord = z.infer<typeof TextRecordSchema>;
export type DatasetRecord = z.infer<typeof DatasetRecordSchema>;

/** How the rows of one source are read. */
export const SourceFormatSchema = z.enum([
  'chat', // {"messages": [{role, content}, ...]}
  'prompt_completion', // {"prompt", "completion"}
  'alpaca', // {"instruction", "input", "output"}
  'text', // {"text"}
  'pairs', // any two fields mapped to prompt and answer
  'problem_folders', // one folder per problem: NL.txt or IR.txt + ASP.txt
  'raw_text', // .txt / .md files, cut into windows
]);
export type SourceFormat = z.infer<typeof SourceFormatSchema>;

/** The file container a source was read from. */
export const ContainerSchema = z.enum(['jsonl', 'json', 'csv', 'tsv', 'parquet', 'folder', 'text']);
export type Container = z.infer<typeof ContainerSchema>;

/** Which fields of a row hold the prompt (joined with a blank line when several are present) and the answer. */
export const FieldMappingSchema = z.object({
  prompt: z.array(z.string().min(1)).min(1),
  answer: z.string().min(1),
  system: z.string().min(1).optional(),
});
export type FieldMapping = z.infer<typeof FieldMappingSchema>;

export const MaskModeSchema = z.enum(['answers', 'last', 'all']);
export type MaskMode = z.infer<typeof MaskModeSchema>;
export const OverLengthSchema = z.enum(['drop', 'truncate']);
export const SplitBySchema = z.enum(['source', 'row']);
export type SplitBy = z.infer<typeof SplitBySchema>;
export type OverLength = z.infer<typeof OverLengthSchema>;

export const ImportSettingsSchema = z
  .object({
    /** Fraction of the (non pre-split) records that go to train. */
    trainFraction: z.number().min(0).max(1).default(DEFAULT_TRAIN_FRACTION),
    /** Fraction that goes to test; valid gets the rest. */
    testFraction: z.number().min(0).max(1).default(DEFAULT_TEST_FRACTION),
    seed: z.number().int().default(DEFAULT_SEED),
    /**
     * What the split cuts: 'source' keeps the records of one source together (a problem folder's descriptions and
     * their variants, a raw-text file's windows), so validation never holds a training problem; 'row' cuts every
     * row (every raw-text window) on its own.
     */
    splitBy: SplitBySchema.default(DEFAULT_SPLIT_BY),
    /** Maximum sequence length in tokens (and the raw-text window size). */
    maxLength: z.number().int().min(8).default(DEFAULT_MAX_LENGTH),
    overLength: OverLengthSchema.default(DEFAULT_OVER_LENGTH),
    mask: MaskModeSchema.default(DEFAULT_MASK),
    /**
     * System prompt added to chat records that have none. Unset: only problem folders get one
     * (the ASP-expert persona). Empty string: never add one.
     */
    systemPrompt: z.string().optional(),
    /** Force how rows are read instead of detecting it. */
    format: SourceFormatSchema.optional(),
    /** Field mapping for every pairs / CSV / Parquet source (overrides the inferred one). */
    mapping: FieldMappingSchema.optional(),
    /** Field mapping per source path (wins over `mapping`). */
    mappings: z.record(z.string(), FieldMappingSchema).default({}),
    dedupe: z.boolean().default(true),
  })
  .refine((s) => s.trainFraction + s.testFraction <= 1 + 1e-9, {
    message: 'trainFraction + testFraction must not exceed 1',
  });
export type ImportSettings = z.output<typeof ImportSettingsSchema>;
export type ImportSettingsInput = z.input<typeof ImportSettingsSchema>;

export const ProblemCodeSchema = z.enum([
  'invalid_json',
  'missing_answer',
  'unknown_role',
  'non_string_content',
  'wrong_fields',
  'object_not_array',
  'not_an_object',
  'mixed_formats',
  'missing_asp',
  'missing_description',
  'empty_file',
  'binary_file',
  'encoding',
  'nul_byte',
  'duplicate_file',
  'read_error',
  'no_trained_tokens',
  'unsupported_file',
  'csv_error',
  'parquet_error',
  'template_error',
]);
export type ProblemCode = z.infer<typeof ProblemCodeSchema>;

/** One reported problem. `line` is null for problems of a whole file or folder. */
export const ProblemSchema = z.object({
  file: z.string(),
  line: z.number().int().min(1).nullable(),
  code: ProblemCodeSchema,
  reason: z.string(),
  /** Byte offset in the file of the first bad byte (problems of bytes that are not text). */
  offset: z.number().int().min(0).optional(),
});
export type Problem = z.infer<typeof ProblemSchema>;

export const SourceSummarySchema = z.object({
  path: z.string(),
  format: SourceFormatSchema.nullable(),
  container: ContainerSchema,
  encoding: z.string().nullable(),
  /** Good rows read from this source. */
  rows: z.number().int(),
  problems: z.number().int(),
  mapping: FieldMappingSchema.nullable(),
  presplit: SplitSchema.nullable(),
});
export type SourceSummary = z.infer<typeof SourceSummarySchema>;

export const HistogramSchema = z.object({ binWidth: z.number(), counts: z.array(z.number().int()) });
export type Histogram = z.infer<typeof HistogramSchema>;

export const TokenStatsSchema = z.object({
  records: z.number().int(),
  totalTokens: z.number().int(),
  trainedTokens: z.number().int(),
  min: z.number().int(),
  max: z.number().int(),
  mean: z.number(),
  p50: z.number().int(),
  p95: z.number().int(),
  overLength: z.number().int(),
  dropped: z.number().int(),
  truncated: z.number().int(),
  histogram: HistogramSchema,
});
export type TokenStats = z.infer<typeof TokenStatsSchema>;

export const ImportCountsSchema = z.object({
  rowsRead: z.number().int(),
  records: z.number().int(),
  duplicates: z.number().int(),
  problems: z.number().int(),
  droppedTooLong: z.number().int(),
  truncated: z.number().int(),
  noTrainedTokens: z.number().int(),
  /** Rows left out because their render has no trained token (the chat template writes no answer). */
  untrainable: z.number().int().default(0),
  systemPromptAdded: z.number().int(),
  /** Conversations whose system turn the chat template refuses (Gemma 2): folded into the first user turn. */
  systemFolded: z.number().int().default(0),
  train: z.number().int(),
  valid: z.number().int(),
  test: z.number().int(),
});
export type ImportCounts = z.infer<typeof ImportCountsSchema>;

export const DatasetMetaSchema = z.object({
  id: z.string(),
  name: z.string().min(1),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** Detected format: one source format, or 'mixed'. */
  format: z.string(),
  kind: z.enum(['chat', 'text', 'mixed']),
  presplit: z.boolean(),
  sources: z.array(SourceSummarySchema),
  counts: ImportCountsSchema,
  settings: ImportSettingsSchema,
  tokens: TokenStatsSchema.nullable(),
  /** Problems found at import (kept so the dataset page can show them later). */
  problems: z.array(ProblemSchema),
  chunkSize: z.number().int().min(1),
  chunkCount: z.number().int().min(0),
});
export type DatasetMeta = z.infer<typeof DatasetMetaSchema>;
