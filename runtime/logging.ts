import pino, { type Logger } from 'pino';

/**
 * One logger tree for the whole process. Children carry context (run, role, actor, node, step, trial) on every
 * line; nothing is deduplicated (a production lesson: log dedup hid 3 failures in 1,000).
 *
 * Level: `POSTTRAIN_LOG_LEVEL` (default `info`). JSON on stderr unless stderr is a terminal, where pino-pretty
 * makes it readable. Tests get `silent` unless the variable says otherwise.
 *
 * @example
 * const log = rootLogger().child({ role: 'policy', actor: 'policy-0' });
 * log.info({ step: 3 }, 'trained');
 */
let root: Logger | undefined;

export function rootLogger(): Logger {
  if (root) return root;
  const level = process.env.POSTTRAIN_LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info');
  const pretty = process.stderr.isTTY && process.env.POSTTRAIN_LOG_FORMAT !== 'json';
  root = pretty
    ? pino({ level, transport: { target: 'pino-pretty', options: { destination: 2, translateTime: 'HH:MM:ss.l' } } })
    : pino({ level }, pino.destination({ fd: 2, sync: true }));
  return root;
}

/** Replace the root logger (the CLI does this for `--log-level`). */
export function setRootLogger(logger: Logger): void {
  root = logger;
}

export type { Logger };
