import { PosttrainError } from '../errors.ts';

/**
 * Codes: `CHECKPOINT_URI_INVALID`, `CHECKPOINT_KEY_INVALID`, `CHECKPOINT_OBJECT_NOT_FOUND`, `CHECKPOINT_STORE_FAILED`,
 * `CHECKPOINT_INPUT_INVALID`, `CHECKPOINT_CORRUPT`, `CHECKPOINT_NOT_FOUND`. `path` names the object or field at fault.
 */
export class CheckpointError extends PosttrainError {
  /** True when the failure is transient (network, 5xx, throttling, a full disk) and the operation may succeed later. */
  readonly retryable: boolean;

  constructor(code: string, message: string, options: { path?: string; cause?: unknown; retryable?: boolean } = {}) {
    super(code, message, options);
    this.retryable = options.retryable ?? false;
  }
}

/**
 * Runs one store operation, turning whatever it throws into the CheckpointError `wrap` makes from it: every
 * store reports a failure as its operation, key and whether a retry may help.
 *
 * @example
 * await storeOperation(() => readFile(path), (error) => this.wrap('get', key, error));
 */
export async function storeOperation<T>(action: () => Promise<T>, wrap: (error: unknown) => CheckpointError): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw wrap(error);
  }
}
