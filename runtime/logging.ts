import pino, { type Logger } from 'pino';
import { prettyFactory } from 'pino-pretty';

/**
 * One logger tree for the whole process. Children carry context (run, stage, role, actor, node, step, trial) on
 * every line; nothing is deduplicated (a production lesson: log dedup hid 3 failures in 1,000).
 *
 * Level: `POSTTRAIN_LOG_LEVEL` (default `info`). JSON on stderr unless stderr is a terminal, where pino-pretty
 * makes it readable (`POSTTRAIN_LOG_FORMAT=json` keeps JSON on a terminal too). Tests get `silent` unless the
 * variable says otherwise. Lines are written synchronously, one `write` per line, so nothing sits in a buffer when
 * the process dies, and they pass through one sink that progress bars take over while they are drawn (a log line
 * printed under a live bar would tear it).
 *
 * @example
 * const log = rootLogger().child({ role: 'policy', actor: 'policy-0' });
 * log.info({ step: 3 }, 'trained');
 */
let root: Logger | undefined;

/** Where formatted lines go: stderr, or a progress display while bars are on screen. */
let sink: (line: string) => void = (line) => stderr().write(line);
let stderrDestination: ReturnType<typeof pino.destination> | undefined;

/** Fields a logger adds to every line from a function called per line (see `withLiveContext`). */
const LIVE_CONTEXT = Symbol('posttrain.liveContext');

export function rootLogger(): Logger {
  if (root) return root;
  const level = process.env.POSTTRAIN_LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info');
  const pretty = process.stderr.isTTY === true && process.env.POSTTRAIN_LOG_FORMAT !== 'json';
  const format = pretty ? prettyFactory({ translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname', colorize: true, singleLine: true }) : undefined;
  root = pino(
    {
      level,
      // pino passes the logger that logs the line; children see their ancestors' live context through the
      // prototype chain (a pino child is `Object.create(parent)`), so one function serves a whole subtree.
      mixin: (_fields, _level, logger) => (logger as unknown as Record<symbol, (() => object) | undefined>)[LIVE_CONTEXT]?.() ?? {},
    },
    { write: (line: string) => sink(format ? format(line) : line) },
  );
  return root;
}

/** Replace the root logger (the CLI does this for `--log-level`). */
export function setRootLogger(logger: Logger): void {
  root = logger;
}

/**
 * A child of `parent` whose lines (and its descendants' lines) also carry the fields `context()` returns at the
 * moment each line is written, e.g. the step a run is at. A field the line itself sets wins. Works on loggers from
 * `rootLogger()`; on a logger built elsewhere it is a plain child.
 *
 * @example
 * let step = 0;
 * const log = withLiveContext(rootLogger().child({ run: 'ppo-1' }), () => (step > 0 ? { step } : {}));
 * step = 3;
 * log.info('evaluated'); // {"run":"ppo-1","step":3,"msg":"evaluated"}
 */
export function withLiveContext(parent: Logger, context: () => object, bindings: Record<string, unknown> = {}): Logger {
  const child = parent.child(bindings);
  (child as unknown as Record<symbol, () => object>)[LIVE_CONTEXT] = context;
  return child;
}

/**
 * Routes every formatted log line of this process to `write` until the returned function is called (which
 * restores stderr). Progress bars use it to print lines above themselves.
 *
 * @example
 * const restore = redirectLogLines((line) => multiBar.log(line));
 * // ... bars are drawn ...
 * restore();
 */
export function redirectLogLines(write: (line: string) => void): () => void {
  const previous = sink;
  sink = write;
  return () => {
    if (sink === write) sink = previous;
  };
}

/**
 * Re-emits a pino record that another process wrote (a worker's JSON line) on `logger`, at its level, with its
 * fields. Fields that `logger` already binds with the same value (a worker binds its node, actor and role, and so
 * does the logger that captures its output) are left out, so no key appears twice on a line; a field bound with a
 * different value keeps the worker's value under `worker<Field>` (e.g. the worker's `component`).
 *
 * @example
 * forwardRecord(actorLogger, JSON.parse(line)); // true when the line was a pino record
 */
export function forwardRecord(logger: Logger, record: Record<string, unknown>): boolean {
  if (typeof record.level !== 'number' || typeof record.msg !== 'string') return false;
  const { level, msg, time: _time, pid: _pid, hostname: _hostname, ...fields } = record;
  const bound = logger.bindings();
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (!(key in bound)) kept[key] = value;
    else if (JSON.stringify(bound[key]) !== JSON.stringify(value)) kept[`worker${key[0]!.toUpperCase()}${key.slice(1)}`] = value;
  }
  logger[LEVEL_NAMES[level] ?? 'info'](kept, msg);
  return true;
}

const LEVEL_NAMES: Record<number, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/** stderr through SonicBoom: synchronous, and it retries when a non-blocking pipe is full instead of dropping. */
function stderr(): ReturnType<typeof pino.destination> {
  return (stderrDestination ??= pino.destination({ fd: 2, sync: true }));
}

export type { Logger };
