import cliProgress from 'cli-progress';
import { redirectLogLines } from '../logging.ts';

/** Options for `createProgress`. */
export interface ProgressOptions {
  /** Where bars are drawn (default `process.stderr`, beside the logs). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /**
   * Force bars on or off. By default they are on only when `stream` is a terminal and the `CI` variable is unset
   * (or `false`/`0`): a log file or CI console gets no control characters.
   */
  enabled?: boolean;
  /**
   * While bars are drawn, print this process's log lines above them instead of letting them tear the bars
   * (default: when `stream` is `process.stderr`, where the logs go).
   */
  captureLogs?: boolean;
}

/** Extra numbers shown after a bar, e.g. `{ reward: 0.52, kl: 0.01 }`. */
export type ProgressFields = Record<string, number | string>;

/** One bar: a stage, a step loop, a rollout, an upload, a trial. */
export interface ProgressBar {
  /** Advance by `count` (default 1) and replace the fields shown after the bar. */
  tick(count?: number, fields?: ProgressFields): void;
  /** Mark the work finished; the bar stays on screen with its final figures. */
  done(): void;
}

/** Progress bars for long work; a no-op when output is not a terminal or `CI` is set. */
export interface Progress {
  readonly enabled: boolean;
  /** Start a bar named `name` that completes at `total`. */
  stage(name: string, total: number): ProgressBar;
  /** Print a line above the bars (or nothing when disabled: logs are the record, bars are the view). */
  log(line: string): void;
  /** Stop drawing; unfinished bars stay as they are. */
  stop(): void;
}

const QUIET_BAR: ProgressBar = { tick: () => {}, done: () => {} };

/**
 * Progress bars drawn with `cli-progress` (several at once: concurrent sweep trials each get a line).
 *
 * @example
 * const progress = createProgress();
 * const bar = progress.stage('ppo', 200);
 * for (let step = 1; step <= 200; step++) bar.tick(1, { reward: 0.52, kl: 0.013 });
 * bar.done();
 */
export function createProgress(options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const enabled = options.enabled ?? (Boolean(stream.isTTY) && !runningInCi());
  if (!enabled) return { enabled, stage: () => QUIET_BAR, log: () => {}, stop: () => {} };
  const captureLogs = options.captureLogs ?? stream === process.stderr;

  let multiBar: cliProgress.MultiBar | undefined;
  let restoreLogs: (() => void) | undefined;
  let active = 0;
  const printAbove = (line: string): void => {
    if (!multiBar) return void stream.write(line);
    multiBar.log(line.endsWith('\n') ? line : `${line}\n`);
    // Flush now rather than at the next redraw: a line still buffered when the process dies would be lost.
    multiBar.update();
  };
  const stopBars = (): void => {
    restoreLogs?.();
    restoreLogs = undefined;
    multiBar?.stop();
    multiBar = undefined;
    active = 0;
  };
  const bars = (): cliProgress.MultiBar => {
    if (multiBar) return multiBar;
    if (captureLogs) restoreLogs = redirectLogLines(printAbove);
    return (multiBar = new cliProgress.MultiBar(
      {
        stream,
        format: '{name} |{bar}| {value}/{total} {percentage}% | {duration_formatted} < {eta_formatted} {fields}',
        barsize: 24,
        hideCursor: true,
        // Tests draw to a fake terminal; a real one reports itself as a TTY anyway.
        noTTYOutput: options.enabled === true,
        autopadding: true,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    ));
  };

  return {
    enabled,
    stage(name, total) {
      const bar = bars().create(Math.max(total, 0), 0, { name: name.padEnd(12), fields: '' });
      active += 1;
      let finished = false;
      return {
        tick(count = 1, fields) {
          if (finished) return;
          bar.increment(count, fields === undefined ? {} : { fields: `| ${formatFields(fields)}` });
        },
        done() {
          if (finished) return;
          finished = true;
          bar.update(bar.getTotal());
          // Freeze its clock: a finished bar that stays on screen under live ones keeps its own duration.
          bar.stop();
          active -= 1;
          // The multi-bar keeps a redraw timer alive; stop it once nothing is running so the process can exit.
          if (active === 0) stopBars();
        },
      };
    },
    log(line) {
      printAbove(line.endsWith('\n') ? line : `${line}\n`);
    },
    stop: stopBars,
  };
}

let shared: Progress | undefined;

/**
 * The process's one progress display on stderr: the recipe's stage bar, a trainer's step bar and a sweep's trial
 * bars are lines of the same display (two displays on one terminal would overwrite each other).
 *
 * @example
 * const bar = sharedProgress().stage('ppo', 200);
 */
export function sharedProgress(): Progress {
  return (shared ??= createProgress());
}

/** `name value` pairs, numbers to 4 significant digits. */
export function formatFields(fields: ProgressFields): string {
  return Object.entries(fields)
    .map(([name, value]) => `${name} ${typeof value === 'number' ? formatNumber(value) : value}`)
    .join('  ');
}

function formatNumber(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 1e4 || (Math.abs(value) < 1e-3 && value !== 0) ? value.toExponential(2) : value.toPrecision(4);
}

function runningInCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}
