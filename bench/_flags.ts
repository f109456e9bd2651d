/**
 * A bench's command-line flags, parsed by node:util's `parseArgs`: each bench declares its flags and their kinds,
 * so a mistyped flag is an error that names the allowed ones instead of being ignored, and a number flag that is
 * not a number says so.
 */
import { parseArgs } from 'node:util';

/** Flag name (without `--`) -> its kind. `boolean` flags take no value. */
export type FlagSpec = Record<string, 'number' | 'string' | 'boolean'>;

type FlagValues<Spec extends FlagSpec> = {
  [Name in keyof Spec]?: Spec[Name] extends 'number' ? number : Spec[Name] extends 'boolean' ? boolean : string;
};

/**
 * @example
 * const flags = parseFlags(['--iters', '5', '--no-peer'], { iters: 'number', 'no-peer': 'boolean' });
 * flags.iters;        // 5
 * flags['no-peer'];   // true
 */
export function parseFlags<Spec extends FlagSpec>(args: string[], spec: Spec): FlagValues<Spec> {
  const options = Object.fromEntries(
    Object.entries(spec).map(([name, kind]) => [name, { type: kind === 'boolean' ? ('boolean' as const) : ('string' as const) }]),
  );
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args, options, strict: true, allowPositionals: false }));
  } catch (error) {
    const allowed = Object.keys(spec).map((name) => `--${name}`).join(', ') || '(none)';
    throw new Error(`${(error as Error).message}; this bench takes ${allowed}`, { cause: error });
  }
  const parsed: Record<string, string | number | boolean | undefined> = {};
  for (const [name, value] of Object.entries(values)) {
    if (spec[name] !== 'number') {
      parsed[name] = value;
      continue;
    }
    const number = Number(value);
    if (!Number.isFinite(number)) throw new Error(`--${name} must be a number, got ${String(value)}`);
    parsed[name] = number;
  }
  return parsed as FlagValues<Spec>;
}
