/**
 * Flag parsing for the CLI: `--name value`, `--name=value` and boolean `--flag`. Every command declares the flags it
 * knows; any other flag is a usage error that lists them, so a mistyped or unsupported flag is never silently ignored.
 */
export interface ParsedArgs {
  /** The last value of each flag given. */
  flags: Map<string, string | true>;
  /** Every value of each flag, in order (for flags that may be given more than once). */
  all: Map<string, (string | true)[]>;
  positional: string[];
}

/** The flags a command knows: ones that take a value, and booleans (which never take one). */
export interface FlagSpec {
  values: readonly string[];
  booleans?: readonly string[];
}

/** A mistake in the command line (exit code 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** `--a, --b VALUE, …`: the flags of a spec, sorted, for messages. */
export function knownFlags(spec: FlagSpec): string {
  const booleans = new Set(spec.booleans ?? []);
  return [...spec.values, ...booleans]
    .sort()
    .map((f) => (booleans.has(f) ? `--${f}` : `--${f} VALUE`))
    .join(', ');
}

export function parseArgs(argv: string[], spec: FlagSpec, command = 'this command'): ParsedArgs {
  const flags = new Map<string, string | true>();
  const all = new Map<string, (string | true)[]>();
  const positional: string[] = [];
  const booleans = spec.booleans ?? [];
  const set = (name: string, v: string | true) => {
    flags.set(name, v);
    all.set(name, [...(all.get(name) ?? []), v]);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    const isBoolean = booleans.includes(name);
    if (!isBoolean && !spec.values.includes(name))
      throw new UsageError(`unknown flag --${name} for ${command}; the flags it knows: ${knownFlags(spec)}`);
    if (eq > 0) {
      if (isBoolean) throw new UsageError(`--${name} takes no value`);
      set(name, a.slice(eq + 1));
    } else if (isBoolean || i + 1 >= argv.length || argv[i + 1]!.startsWith('--')) set(name, true);
    else set(name, argv[++i]!);
  }
  return { flags, all, positional };
}

export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  if (v === true) throw new UsageError(`--${name} needs a value`);
  return v;
}

/** Every value of a flag that may be repeated or list values with commas: `--adapter a --adapter b,c` → a, b, c. */
export function listFlag(args: ParsedArgs, name: string): string[] {
  return (args.all.get(name) ?? []).flatMap((v) => {
    if (v === true) throw new UsageError(`--${name} needs a value`);
    return v
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x !== '');
  });
}

export function numberFlag(args: ParsedArgs, name: string, fallback?: number): number | undefined {
  const v = stringFlag(args, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${v}"`);
  return n;
}

export function choiceFlag<T extends string>(args: ParsedArgs, name: string, choices: readonly T[], fallback: T): T {
  const v = stringFlag(args, name) ?? fallback;
  if (!(choices as readonly string[]).includes(v))
    throw new UsageError(`--${name} must be one of ${choices.join(', ')}; got "${v}"`);
  return v as T;
}
