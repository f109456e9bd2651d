/**
 * A user's reward function misbehaved: it threw, returned the wrong number of values, or a value that is not a
 * finite number. The step stops; the message names the function (`module#export`), the sample and the value.
 * It is the user's code at fault, so it is a ConfigError: the CLI prints it plainly and exits 2.
 */
import { ConfigError } from '../runtime/errors.ts';
import { registerErrorClass } from '../runtime/runtime-errors.ts';

/**
 * @example
 * throw new RewardFunctionError('./my-reward.ts#accuracy', 'sample 3: returned NaN, expected a finite number');
 */
export class RewardFunctionError extends ConfigError {
  override readonly code = 'REWARD_FUNCTION';

  constructor(
    /** `module#export`, as the recipe names it. */
    readonly functionName: string,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super([{ path: `reward ${functionName}`, message }]);
    if (options.cause !== undefined) Object.defineProperty(this, 'cause', { value: options.cause, enumerable: false });
  }
}

// Thrown inside the rollout worker's actor: rebuilt as itself in the driver, so the CLI still sees a ConfigError.
registerErrorClass(RewardFunctionError);
