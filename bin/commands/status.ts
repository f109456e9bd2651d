import type { Command } from 'commander';
import { setRootLogger, rootLogger } from '../../runtime/index.ts';
import {
  formatSweepStatus,
  readSweep,
  summarizePipeline,
  summarizeRun,
  summarizeRunsDirectory,
} from '../../observe/index.ts';
import { logLevel, positiveNumber } from '../options.ts';
import { asInputError, pickStudy, resolveRunTarget } from '../run-target.ts';

/**
 * `recipe status [run|sweep]`: where runs are. With no argument, every run and recipe in the runs directory (state,
 * stage, step, steps/s, last checkpoint); with a run or recipe directory, its state, step, speed, latest rewards
 * and last checkpoint (for a recipe, each stage); with a sweep database, the trial table and the best value.
 */
export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('what is running: step, speed and last checkpoint of runs; trials and best value of sweeps')
    .argument('[target]', 'a run or recipe directory (runs/<name>), or a sweep database (sqlite:///runs/sweeps.db or a .db path); default: every run in --runs-dir')
    .option('--runs-dir <dir>', 'where runs are when no target is given', 'runs')
    .option('--study <name>', 'the study to show when the sweep database holds several (default: all of them)')
    .option('--watch <seconds>', 'redraw every N seconds until interrupted', positiveNumber)
    .option('--log-level <level>', 'fatal | error | warn | info | debug | trace | silent', logLevel)
    .action(async (target: string | undefined, options: { runsDir: string; study?: string; watch?: number; logLevel?: string }) => {
      if (options.logLevel) setRootLogger(rootLogger().child({}, { level: options.logLevel }));
      const render = (): string => {
        try {
          return statusText(target, options);
        } catch (error) {
          throw asInputError(error);
        }
      };
      if (options.watch === undefined) {
        process.stdout.write(`${render()}\n`);
        return;
      }
      for (;;) {
        const text = render();
        process.stdout.write(`${process.stdout.isTTY ? '\u001b[2J\u001b[H' : ''}${new Date().toLocaleTimeString()}  (every ${options.watch}s; Ctrl-C to stop)\n${text}\n`);
        await new Promise((resolve) => setTimeout(resolve, options.watch! * 1000));
      }
    });
}

function statusText(argument: string | undefined, options: { runsDir: string; study?: string }): string {
  const target = resolveRunTarget(argument ?? options.runsDir, 'status');
  switch (target.kind) {
    case 'run':
      return summarizeRun(target.path);
    case 'pipeline':
      return summarizePipeline(target.path);
    case 'runs-directory':
      return summarizeRunsDirectory(target.path);
    case 'sweep': {
      const studies = pickStudy(target, options.study) === undefined ? target.studies : [options.study!];
      return studies.map((studyName) => formatSweepStatus(readSweep(target.path, { studyName }))).join('\n\n');
    }
  }
}
