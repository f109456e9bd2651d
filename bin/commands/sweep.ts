import type { Command } from 'commander';
import { ConfigError } from '../../runtime/errors.ts';
import { rootLogger, setRootLogger } from '../../runtime/index.ts';
import { launchSweep } from '../../tune/sweep-launcher.ts';
import { loadSweepConfig } from '../../tune/sweep-config.ts';
import { planSweep } from '../../tune/sweep-plan.ts';
import { loadRecipeFile } from '../load-recipe.ts';
import { logLevel } from '../options.ts';

interface SweepOptions {
  storage?: string;
  resume?: boolean;
  runsDir?: string;
  logLevel?: string;
  dryRun?: boolean;
}

/**
 * `recipe sweep <file>`: validate the sweep file and its base recipe, run the shared stages once, then the trials.
 * Ctrl-C stops it cleanly (running trials are released and queued again); `--resume` continues where it stopped.
 */
export function registerSweepCommand(program: Command): void {
  program
    .command('sweep')
    .description('run a hyperparameter sweep over a recipe (e.g. recipes/sweep-ppo.ts), stored as an Optuna study')
    .argument('<sweep>', 'sweep file whose default export is the sweep')
    .option('--storage <url>', 'study storage, e.g. sqlite:///runs/sweeps.db (overrides the sweep file)')
    .option('--resume', 'continue the study of this sweep: lost trials are re-run, finished ones never')
    .option('--runs-dir <dir>', 'parent directory of the sweep run directory (default: the base recipe’s, runs)')
    .option('--log-level <level>', 'fatal | error | warn | info | debug | trace | silent', logLevel)
    .option('--dry-run', 'validate and print the plan without running')
    .action(async (file: string, options: SweepOptions) => {
      if (options.logLevel) setRootLogger(rootLogger().child({}, { level: options.logLevel }));
      const config = await loadSweepConfig(file, options.storage ? { storage: options.storage } : {});
      const baseRecipe = await loadBaseRecipe(config.baseRecipe, options.logLevel);
      const runsDirectory = options.runsDir === undefined ? {} : { runsDirectory: options.runsDir };
      if (options.dryRun) {
        const plan = planSweep(config, baseRecipe, runsDirectory);
        const dryRun = {
          sweep: config.name,
          storage: config.storage,
          directory: plan.directory,
          sharedStages: plan.sharedStages.map((stage) => ({ stage: stage.stage, directory: stage.directory, hash: stage.hash })),
          stage: plan.stage,
          space: config.space,
          trials: config.nTrials,
          concurrency: config.concurrency,
          trialThreads: plan.trialThreads,
        };
        process.stdout.write(`${JSON.stringify(dryRun, null, 2)}\n`);
        return;
      }
      const stop = new AbortController();
      let interrupts = 0;
      const onSignal = (signal: NodeJS.Signals) => {
        interrupts++;
        if (interrupts > 1) process.exit(130);
        rootLogger().warn({ signal }, 'stopping the sweep: running trials are released and queued again (Ctrl-C again to quit at once); continue with --resume');
        stop.abort(new Error(`${signal} received`));
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        const report = await launchSweep({ config, baseRecipe, resume: options.resume === true, signal: stop.signal, ...runsDirectory });
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        if (report.stopped) process.exitCode = 130;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}

/** The base recipe with `--log-level` applied; a missing or broken file is reported at `baseRecipe`. */
async function loadBaseRecipe(path: string, level: string | undefined): Promise<unknown> {
  try {
    return await loadRecipeFile(path, level ? [`logging.level=${JSON.stringify(level)}`] : []);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError(error.issues.map((issue) => ({ path: issue.path === 'recipe' ? 'baseRecipe' : issue.path, message: issue.message })));
  }
}
