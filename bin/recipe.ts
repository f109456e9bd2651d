/**
 * The `recipe` command. Thin: it parses and validates, then calls trainers/ or tune/. Each subcommand lives in
 * bin/commands/<name>.ts. Exit codes: 0 done, 1 a failure while running, 2 a usage or recipe error.
 */
import { Command, CommanderError } from 'commander';
import { registerResumeCommand } from './commands/resume.ts';
import { registerRunCommand } from './commands/run.ts';
import { registerClusterCommand } from './commands/cluster.ts';
import { registerSweepCommand } from './commands/sweep.ts';
import { registerReportCommand } from './commands/report.ts';
import { registerStatusCommand } from './commands/status.ts';
import { registerExportCommand } from './commands/export.ts';
import { registerModelCommand } from './commands/model.ts';
import { registerGenerateCommand } from './commands/generate.ts';
import { generateBackend } from './generate-backend.ts';
import { EXIT_USAGE, reportError } from './cli-errors.ts';

const program = new Command();
program
  .name('recipe')
  .description('posttrain: RLHF and post-training recipes (SFT, reward model, PPO, DPO, GRPO) on a local or cluster runtime')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

registerRunCommand(program);
registerResumeCommand(program);
registerClusterCommand(program);
registerSweepCommand(program);
registerStatusCommand(program);
registerReportCommand(program);
registerExportCommand(program);
registerModelCommand(program);
registerGenerateCommand(program, generateBackend);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE;
  } else {
    process.exitCode = reportError(error, `recipe ${program.args[0] ?? ''}`.trim());
  }
}
