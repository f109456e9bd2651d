import { Command } from 'commander';
import { registerClusterCommand } from './commands/cluster.ts';

// The CLI is thin: it parses, validates and calls trainers/ or tune/. Subcommands are added as they land.
const program = new Command();
program.name('recipe').description('posttrain: RLHF and post-training recipes (SFT, reward model, PPO, DPO, GRPO)');
program.showHelpAfterError();
registerClusterCommand(program);
await program.parseAsync(process.argv);
