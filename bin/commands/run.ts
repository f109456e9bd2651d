import type { Command } from 'commander';
import { setRootLogger, rootLogger, sharedProgress } from '../../runtime/index.ts';
import { loadRecipeFile } from '../load-recipe.ts';
import { collect, logLevel } from '../options.ts';
import { downloadHubModels } from '../hub-models.ts';

/** `recipe run <file>`: validate the recipe, then run its stages, reusing stages whose output already exists. */
export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run a recipe (e.g. recipes/ppo.ts: SFT -> reward model -> PPO)')
    .argument('<recipe>', 'recipe file whose default export is the recipe')
    .option('--set <path=value>', 'override a recipe field, e.g. --set stages.ppo.trainer.steps=20 (repeatable)', collect, [])
    .option('--name <name>', 'run name (default: the recipe name); runs go to <runs-dir>/<name>')
    .option('--runs-dir <dir>', 'parent directory of run directories (default: runs)')
    .option('--force', 'rerun every stage even if its output exists for the same config')
    .option('--log-level <level>', 'fatal | error | warn | info | debug | trace | silent', logLevel)
    .option('--dry-run', 'validate and print the plan without running')
    .action(async (file: string, options: { set: string[]; name?: string; runsDir?: string; force?: boolean; logLevel?: string; dryRun?: boolean }) => {
      // Loaded here, not at the top: the trainers pull in the tensor engine, which `recipe status` does not need.
      const { planRecipe, runRecipe } = await import('../../trainers/recipe.ts');
      const overrides = [...options.set];
      if (options.name) overrides.push(`name=${JSON.stringify(options.name)}`);
      if (options.runsDir) overrides.push(`logging.runsDirectory=${JSON.stringify(options.runsDir)}`);
      if (options.logLevel) overrides.push(`logging.level=${JSON.stringify(options.logLevel)}`);
      const recipe = await loadRecipeFile(file, overrides);
      await downloadHubModels(recipe);
      // Planning writes a `model.init` folder first, since validation reads its config.json (also on --dry-run).
      const plan = planRecipe(recipe);
      for (const folder of plan.freshModels) process.stderr.write(`wrote a fresh model to ${folder} (model.init)\n`);
      if (options.logLevel) setRootLogger(rootLogger().child({}, { level: options.logLevel }));
      if (options.dryRun) {
        process.stdout.write(`${JSON.stringify({ name: plan.name, directory: plan.directory, stages: plan.stages.map((stage) => ({ stage: stage.stage, directory: stage.directory, hash: stage.hash })) }, null, 2)}\n`);
        return;
      }
      // One bar for the recipe's stages above each stage's own step bar (on a terminal only).
      const stagesBar = sharedProgress().stage(`recipe ${plan.name}`, plan.stages.length);
      let stagesDone = 0;
      const onStep = (stage: string) => {
        const index = plan.stages.findIndex((planned) => planned.stage === stage);
        if (index > stagesDone) stagesBar.tick(index - stagesDone, { stage });
        stagesDone = Math.max(stagesDone, index);
      };
      let summary;
      try {
        summary = await runRecipe(plan, { onStep, ...(options.force ? { force: true } : {}) });
        stagesBar.tick(plan.stages.length - stagesDone);
      } finally {
        stagesBar.done();
      }
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    });
}
