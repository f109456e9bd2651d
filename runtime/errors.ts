/**
 * Errors are values: a stable `code`, the `path` of the thing at fault (a config field, an actor, a bundle) and a
 * message that says what to do. Every error posttrain raises on purpose extends `PosttrainError`, so the CLI can
 * print it plainly (no stack trace) and exit with the right code.
 */
export class PosttrainError extends Error {
  /** Machine-readable kind, e.g. `CONFIG_INVALID`, `ACTOR_DIED`, `OBJECT_LOST`. */
  readonly code: string;
  /** Where the problem is: a config path like `algo.clipRange`, an actor name, an object id. */
  readonly path: string | undefined;

  constructor(code: string, message: string, options: { path?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.path = options.path;
  }

  /** Plain data, for logs and for crossing process boundaries. */
  toJSON(): { name: string; code: string; path?: string; message: string } {
    return { name: this.name, code: this.code, ...(this.path === undefined ? {} : { path: this.path }), message: this.message };
  }
}

/** A user-supplied value (recipe, override, CLI flag, API argument) is wrong. The CLI exits with code 2. */
export class ConfigError extends PosttrainError {
  /** Every problem found, so the user fixes them all in one go (zod-style). */
  readonly issues: { path: string; message: string }[];

  constructor(issues: { path: string; message: string }[]) {
    super('CONFIG_INVALID', issues.map((issue) => `${issue.path || '(root)'}: ${issue.message}`).join('\n'), {
      path: issues[0]?.path,
    });
    this.issues = issues;
  }
}
