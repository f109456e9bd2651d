import type { z } from 'zod';
import { ConfigError } from '../../runtime/errors.ts';

/**
 * Validates task options with their zod schema and reports every problem at once as a `ConfigError` whose paths
 * start with `prefix` (e.g. `task.evalFraction: Too small: expected number to be >0`).
 */
export function parseOptions<Schema extends z.ZodType>(schema: Schema, input: unknown, prefix: string): z.output<Schema> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => ({
      path: [prefix, ...issue.path.map(String)].join('.'),
      message: issue.message,
    })),
  );
}
