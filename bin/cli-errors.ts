/**
 * How the `recipe` command ends on an error: a user's mistake (a bad recipe, override or flag) prints what is
 * wrong and what is allowed and exits 2, never with a stack trace; a failure while running prints its message
 * and cause and exits 1; only a bug (an error posttrain did not raise on purpose) prints its stack.
 */
import { ConfigError, PosttrainError } from '../runtime/errors.ts';

export const EXIT_USAGE = 2;
export const EXIT_FAILURE = 1;

export function reportError(error: unknown, context: string): number {
  if (error instanceof ConfigError) {
    process.stderr.write(`${context}: invalid recipe, argument or option:\n${error.issues.map((issue) => `  ${issue.path || '(root)'}: ${issue.message}`).join('\n')}\n`);
    return EXIT_USAGE;
  }
  if (error instanceof PosttrainError) {
    const cause = error.cause instanceof Error ? `\n  caused by: ${error.cause.message}` : '';
    process.stderr.write(`${context} failed: ${error.message} [${error.code}]${cause}\n`);
    return EXIT_FAILURE;
  }
  process.stderr.write(`${context} failed with an unexpected error (a bug; please report it)\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return EXIT_FAILURE;
}
