import { z } from 'zod';
import { ConfigError } from '../runtime/errors.ts';

// Lives in models/, the lowest folder among its users (models/tasks, trainers/, bin/), so each imports it in the
// allowed direction; the runtime validates its own options and knows nothing of recipes. It moves to data/ with the
// tasks.

/**
 * Validates user input (a recipe, a trainer config, a sweep file) against a zod schema and turns every problem
 * into one `ConfigError` that lists them all, each with its dotted path, what was wrong and what is allowed.
 *
 * @example
 * const config = parseConfig(ppoConfigSchema, recipe.ppo, 'ppo');   // throws ConfigError on bad input
 */
export function parseConfig<Schema extends z.ZodType>(schema: Schema, input: unknown, prefix = ''): z.output<Schema> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ConfigError(configIssues(schema, result.error, prefix));
}

/** A zod error as `{ path, message }` issues, unknown keys listed with the allowed ones. */
export function configIssues(schema: z.ZodType, error: z.ZodError, prefix = ''): { path: string; message: string }[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter(Boolean).join('.'),
    message: describeIssue(schema, issue),
  }));
}

function describeIssue(schema: z.ZodType, issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    const allowed = objectKeysAt(schema, issue.path);
    const keys = issue.keys.map((key) => `"${key}"`).join(', ');
    return `unknown key ${keys}${allowed ? `; allowed keys: ${allowed.join(', ')}` : ''}`;
  }
  return issue.message;
}

/** The keys an object schema accepts at `path`, walking through defaults, optionals and pipes. */
function objectKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] | undefined {
  let node: unknown = schema;
  for (let depth = 0; depth <= path.length; depth++) {
    node = unwrap(node);
    if (depth === path.length) break;
    const shape = (node as { shape?: Record<string, unknown> }).shape;
    const element = (node as { element?: unknown }).element;
    if (shape && typeof path[depth] === 'string') node = shape[path[depth] as string];
    else if (element !== undefined && typeof path[depth] === 'number') node = element;
    else return undefined;
  }
  const shape = (node as { shape?: Record<string, unknown> }).shape;
  return shape ? Object.keys(shape) : undefined;
}

function unwrap(node: unknown): unknown {
  for (let i = 0; i < 16 && node; i++) {
    const def = (node as { def?: { type?: string; innerType?: unknown; in?: unknown; schema?: unknown } }).def;
    if (!def) return node;
    if (def.innerType) node = def.innerType;
    else if (def.type === 'pipe' && def.in) node = def.in;
    else return node;
  }
  return node;
}

/**
 * Applies `--set path=value` overrides to a plain object, returning a new object. Values are parsed as JSON
 * when they parse (numbers, booleans, arrays, objects, quoted strings), otherwise taken as a string, so
 * `--set ppo.algo.clipRange=0.1` and `--set task.name=arithmetic` both do what they say.
 */
export function applyOverrides(input: unknown, overrides: readonly string[]): unknown {
  const root = structuredClone(input ?? {}) as Record<string, unknown>;
  const problems: { path: string; message: string }[] = [];
  for (const override of overrides) {
    const equals = override.indexOf('=');
    const path = equals > 0 ? override.slice(0, equals).trim() : '';
    if (!path || !/^[A-Za-z_][\w]*(\.[A-Za-z_0-9][\w]*)*$/.test(path)) {
      problems.push({ path: path || override, message: `override "${override}" must look like path.to.field=value` });
      continue;
    }
    const raw = override.slice(equals + 1);
    const keys = path.split('.');
    let node: Record<string, unknown> = root;
    let blocked = false;
    for (const key of keys.slice(0, -1)) {
      const next = node[key];
      if (next === undefined) node[key] = {};
      else if (typeof next !== 'object' || next === null || Array.isArray(next)) {
        problems.push({ path, message: `cannot set "${path}": "${key}" is ${JSON.stringify(next)}, not an object` });
        blocked = true;
        break;
      }
      node = node[key] as Record<string, unknown>;
    }
    if (!blocked) node[keys.at(-1)!] = parseOverrideValue(raw);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return root;
}

function parseOverrideValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}
