/**
 * Errors from reading a model the user pointed at (a folder, an `hf:` spec, a stage) are the user's to fix: a
 * missing config.json, bad JSON, missing weights, an unknown repository, a model not in the offline cache. The
 * CLI reports them as a ConfigError naming the argument (exit 2). Only a hub that cannot be reached or answers
 * with a server error stays a failure while running (exit 1).
 */
import { ConfigError, PosttrainError } from '../runtime/errors.ts';

const RUNTIME_FAILURES = new Set(['MODEL_HUB_UNREACHABLE', 'MODEL_HUB_FAILED']);

/**
 * Re-raises a model-input PosttrainError as a ConfigError at `argument`; anything else unchanged.
 *
 * @example
 * try { readHfFolder(dir); } catch (error) { throw asModelInputError(error, 'model'); }
 */
export function asModelInputError(error: unknown, argument: string): unknown {
  if (error instanceof PosttrainError && !(error instanceof ConfigError) && error.code.startsWith('MODEL_') && !RUNTIME_FAILURES.has(error.code)) {
    return new ConfigError([{ path: argument, message: error.message }]);
  }
  return error;
}
