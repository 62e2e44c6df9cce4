// The one command-line parser of every raftkv tool (the server, raftctl, chaos, bench): node:util
// parseArgs, `--flag value` and `--flag=value` alike, every mistake one line that names the flag.
// Side-effect free (exported as @raftkv/server/parse-flags).
import { parseArgs } from 'node:util';

export interface FlagOption {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  readonly short?: string;
  readonly default?: string | boolean | readonly string[];
}
export type FlagOptions = Readonly<Record<string, FlagOption>>;

type ValueOf<O> = O extends { readonly type: 'boolean' } ? boolean : O extends { readonly multiple: true } ? string[] : string;
/** Flags with a default always have a value; the others only when given. */
export type FlagValues<O extends FlagOptions> = {
  [K in keyof O]: O[K] extends { readonly default: unknown } ? ValueOf<O[K]> : ValueOf<O[K]> | undefined;
};

export interface ParsedFlags<O extends FlagOptions> {
  readonly values: FlagValues<O>;
  readonly positionals: string[];
}

/** A flag is unknown, lacks its value or has a wrong one; the message is "<flag>: <reason>". */
export class FlagError extends Error {
  override readonly name = 'FlagError';
  constructor(
    readonly flag: string,
    readonly reason: string,
  ) {
    super(`${flag}: ${reason}`);
  }
}

export interface ParseFlagsOptions {
  /** Arguments that are not flags are allowed (else each one is an error). */
  readonly positionals?: boolean;
  /** The error to throw (default FlagError): a tool's own usage or config error type. */
  readonly fail?: (flag: string, reason: string) => Error;
}

/**
 * Parses argv against `options`. A string flag takes the next argument or its inline value, even one
 * that starts with a dash (`--snapshot-bytes -1` is a bad byte count, not a missing value); a boolean
 * flag stands alone or says `=true` / `=false`. With positionals allowed, `-5` or `-x` is one too.
 */
export function parseFlags<const O extends FlagOptions>(argv: readonly string[], options: O, how: ParseFlagsOptions = {}): ParsedFlags<O> {
  const fail = how.fail ?? ((flag: string, reason: string) => new FlagError(flag, reason));
  const config: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  for (const [name, o] of Object.entries(options)) {
    config[name] = { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short === undefined ? {} : { short: o.short }) };
  }
  // Non-strict: parseArgs only splits the tokens; what is wrong is decided here, naming the flag.
  const { tokens } = parseArgs({ args: [...argv], options: config, strict: false, allowPositionals: true, tokens: true });
  const values: Record<string, string | boolean | string[]> = {};
  const positionals: string[] = [];
  const positionalAt = new Set<number>();
  const positional = (index: number, value: string): void => {
    if (!how.positionals) throw fail(value, 'unexpected argument (flags look like --name value)');
    if (!positionalAt.has(index)) positionals.push(value);
    positionalAt.add(index);
  };
  for (const t of tokens) {
    if (t.kind === 'option-terminator') continue;
    if (t.kind === 'positional') {
      positional(t.index, t.value);
      continue;
    }
    const o = options[t.name];
    if (o === undefined) {
      // A lone dash word ("-5") is an argument where arguments are allowed; parseArgs split it into letters.
      if (how.positionals && !t.rawName.startsWith('--')) positional(t.index, argv[t.index]!);
      else throw fail(t.rawName, 'unknown flag');
      continue;
    }
    let v: string | boolean;
    if (o.type === 'boolean') {
      const raw = t.value?.toLowerCase();
      if (raw === undefined || raw === 'true' || raw === '1') v = true;
      else if (raw === 'false' || raw === '0') v = false;
      else throw fail(t.rawName, `must be true or false, got ${JSON.stringify(t.value)}`);
    } else {
      if (t.value === undefined) throw fail(t.rawName, 'needs a value');
      v = t.value;
    }
    const prev = values[t.name];
    values[t.name] = o.multiple ? [...(Array.isArray(prev) ? prev : []), String(v)] : v;
  }
  for (const [name, o] of Object.entries(options)) {
    if (values[name] !== undefined || o.default === undefined) continue;
    values[name] = Array.isArray(o.default) ? [...o.default] : (o.default as string | boolean);
  }
  return { values: values as FlagValues<O>, positionals };
}
