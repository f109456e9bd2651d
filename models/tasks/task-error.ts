import { PosttrainError } from '../../runtime/errors.ts';

/** A task was asked for something it does not have (an unknown prompt, an impossible size). */
export class TaskError extends PosttrainError {}
