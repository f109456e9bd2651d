import type { Command } from 'commander';
import { rootLogger, setRootLogger } from '../../runtime/index.ts';
import { resumeRun } from '../../trainers/resume-run.ts';
import { logLevel } from '../options.ts';

/**
 * `recipe resume <run-dir>`: continue a stopped run from its newest verified checkpoint. A pipeline directory
 * (`runs/<name>`) re-plans its recipe, reuses the finished stages and resumes the unfinished one; one stage's
 * directory (`runs/<name>/<stage>`) resumes that trainer.
 */
export function registerResumeCommand(program: Command): void {
  program
    .command('resume')
    .description('continue a stopped run (a pipeline runs/<name>, or one trainer run directory) from its newest verified checkpoint')
    .argument('<run-dir>', 'run directory, e.g. runs/ppo')
    .option('--log-level <level>', 'fatal | error | warn | info | debug | trace | silent', logLevel)
    .option('--address <host:port>', 'the cluster head to continue on (e.g. a new Slurm allocation\'s); default: the one the run was started with')
    .action(async (directory: string, options: { logLevel?: string; address?: string }) => {
      if (options.logLevel) setRootLogger(rootLogger().child({}, { level: options.logLevel }));
      const summary = await resumeRun(directory, { ...(options.logLevel ? { logLevel: options.logLevel } : {}), ...(options.address ? { address: options.address } : {}) });
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    });
}
