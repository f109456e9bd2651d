/**
 * The error a call throws (or a promise rejects with), checked to be of the expected class, for tests that look at
 * its fields (`code`, `path`, `issues`) rather than its message alone. Fails the test when nothing is thrown.
 *
 * @example
 * const error = thrownBy(() => parseHfConfig({}), ConfigError);
 * expect(error.issues.map((issue) => issue.path)).toEqual(['model_type']);
 * const lost = await rejectionOf(store.get('missing'), CheckpointError);
 */
import { expect } from 'vitest';
import { ConfigError } from '../runtime/errors.ts';

/** A class of errors (`ConfigError`, `CheckpointError`, ...). */
export type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;

export function thrownBy<E extends Error>(action: () => unknown, type: ErrorClass<E>): E {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return error as E;
  }
  throw new Error(`expected a ${type.name}`);
}

export async function rejectionOf<E extends Error>(promise: Promise<unknown>, type: ErrorClass<E>): Promise<E> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return error as E;
  }
  throw new Error(`expected a rejection with a ${type.name}`);
}

/**
 * The ConfigError issues `action` throws, as `path: message` lines; none when it passes. Any other error fails.
 *
 * @example
 * expect(configIssueLines(() => parseSweepConfig({ trials: 0 }))).toEqual(['trials: must be at least 1']);
 */
export function configIssueLines(action: () => unknown): string[] {
  try {
    action();
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
    throw error;
  }
  return [];
}
