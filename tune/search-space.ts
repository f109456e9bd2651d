import { z } from 'zod';
import { ConfigError } from '../runtime/errors.ts';
import type { ParamValue } from './distributions.ts';
import type { Trial } from './trial.ts';

/** Checks shared by float and int ranges: ordered bounds, positive low for log, no step with log. */
function checkRange(param: { low: number; high: number; log: boolean; step?: number }, context: z.RefinementCtx, stepWithLog: (step: number | undefined) => boolean): void {
  if (param.low > param.high) context.addIssue({ code: 'custom', path: ['low'], message: `low (${param.low}) must be <= high (${param.high})` });
  if (param.log && param.low <= 0) context.addIssue({ code: 'custom', path: ['low'], message: `log needs low > 0 (low=${param.low})` });
  if (param.log && stepWithLog(param.step)) context.addIssue({ code: 'custom', path: ['step'], message: `step cannot be combined with log (step=${param.step})` });
}

/** One tunable value: a float or int range (optionally log-scaled or stepped) or a list of choices. */
export const searchParamSchema = z.discriminatedUnion('type', [
  z
    .strictObject({
      type: z.literal('float'),
      /** Lower bound (inclusive); > 0 when log. */
      low: z.number(),
      /** Upper bound (inclusive). */
      high: z.number(),
      /** Sample in log space (learning rates, KL coefficients). */
      log: z.boolean().default(false),
      /** Grid spacing from `low`; not with log. */
      step: z.number().positive().optional(),
    })
    .superRefine((param, context) => checkRange(param, context, (step) => step !== undefined)),
  z
    .strictObject({
      type: z.literal('int'),
      low: z.number().int(),
      high: z.number().int(),
      log: z.boolean().default(false),
      step: z.number().int().positive().default(1),
    })
    .superRefine((param, context) => checkRange(param, context, (step) => step !== 1)),
  z.strictObject({
    type: z.literal('categorical'),
    /** The values to choose from (strings, numbers, booleans or null). */
    choices: z.array(z.union([z.string(), z.number(), z.boolean(), z.null()])).min(1),
  }),
]);

const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/**
 * A search space: parameter name -> what to search. Names are dotted paths into the base recipe
 * (`algo.learningRate`), so the launcher can overlay a trial's values onto the recipe.
 *
 * @example
 * const space = searchSpaceSchema.parse({
 *   'algo.learningRate': { type: 'float', low: 1e-6, high: 1e-4, log: true },
 *   'algo.clipRange': { type: 'float', low: 0.1, high: 0.3, step: 0.05 },
 *   'rollout.batchSize': { type: 'categorical', choices: [16, 32, 64] },
 * });
 */
export const searchSpaceSchema = z.record(z.string(), searchParamSchema).superRefine(
  (space, context) => {
    if (typeof space !== 'object' || space === null) return;
    if (Object.keys(space).length === 0) context.addIssue({ code: 'custom', message: 'the search space needs at least one parameter' });
    for (const name of Object.keys(space)) {
      if (!PARAMETER_NAME.test(name)) context.addIssue({ code: 'custom', path: [name], message: 'must be a dotted path like algo.learningRate' });
    }
  },
  // Name problems are reported alongside problems inside the parameters.
  { when: () => true },
);

export type SearchParam = z.infer<typeof searchParamSchema>;
export type SearchSpace = z.infer<typeof searchSpaceSchema>;

/** Validates a search space, reporting every problem with its path (`space.algo.lr.low: ...`). */
export function parseSearchSpace(input: unknown, pathPrefix = 'space'): SearchSpace {
  const parsed = searchSpaceSchema.safeParse(input);
  if (!parsed.success) throw configErrorFromZod(parsed.error, pathPrefix);
  return parsed.data;
}

/**
 * Suggests every parameter of the space on a trial (in the space's key order) and returns the values.
 *
 * @example
 * const params = suggestFromSpace(study.ask(), space); // { 'algo.learningRate': 3.2e-5, ... }
 */
export function suggestFromSpace(trial: Trial, space: SearchSpace): Record<string, ParamValue> {
  const params: Record<string, ParamValue> = {};
  for (const [name, param] of Object.entries(space)) {
    if (param.type === 'float') params[name] = trial.suggestFloat(name, param.low, param.high, { log: param.log, step: param.step });
    else if (param.type === 'int') params[name] = trial.suggestInt(name, param.low, param.high, { log: param.log, step: param.step });
    else params[name] = trial.suggestCategorical(name, param.choices);
  }
  return params;
}

/** The finite list of values a parameter can take (for the grid sampler); undefined for continuous floats. */
export function gridValues(param: SearchParam): ParamValue[] | undefined {
  if (param.type === 'categorical') return param.choices;
  if (param.type === 'float' && param.step === undefined) return undefined;
  const step = param.step ?? 1;
  if (param.type === 'int' && param.log) return Array.from({ length: param.high - param.low + 1 }, (_, i) => param.low + i);
  const count = Math.floor((param.high - param.low) / step + 1e-9) + 1;
  return Array.from({ length: count }, (_, i) => Number((param.low + i * step).toPrecision(12)));
}

/** zod issues -> ConfigError with dotted paths under a prefix. */
export function configErrorFromZod(error: z.ZodError, pathPrefix: string): ConfigError {
  return new ConfigError(
    error.issues.map((issue) => ({ path: [pathPrefix, ...issue.path.map(String)].filter(Boolean).join('.'), message: issue.message })),
  );
}

/**
 * A copy of `base` with each parameter written at its dotted path (`algo.learningRate` -> base.algo.learningRate).
 * Every path must already exist in the recipe, so a typo in the search space is an error naming it rather than a
 * silently ignored key.
 *
 * @example
 * overlayParams({ algo: { learningRate: 1e-5, clipRange: 0.2 } }, { 'algo.learningRate': 3e-5 });
 * // { algo: { learningRate: 3e-5, clipRange: 0.2 } }
 */
export function overlayParams<T extends object>(base: T, params: Readonly<Record<string, ParamValue>>): T {
  const result = structuredClone(base) as Record<string, unknown>;
  const problems: { path: string; message: string }[] = [];
  for (const [name, value] of Object.entries(params)) {
    const keys = name.split('.');
    let node: Record<string, unknown> = result;
    for (const [depth, key] of keys.entries()) {
      if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) {
        problems.push({ path: `space.${name}`, message: `the base recipe has no ${keys.slice(0, depth + 1).join('.')}` });
        break;
      }
      if (depth === keys.length - 1) node[key] = value;
      else node = node[key] as Record<string, unknown>;
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return result as T;
}
