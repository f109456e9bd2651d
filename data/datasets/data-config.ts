/**
 * The `data` section of a recipe (top level, overridable per stage like `task`): which files, which columns,
 * and how the eval split is made. Paths are relative to the recipe file.
 */
import { z } from 'zod';

const columnName = z.string().min(1);

export const DataConfigSchema = z
  .object({
    /** Training file, `.jsonl` or `.parquet`, in one of TRL's dataset formats. */
    train: z.string().min(1),
    /** Eval file in the same kind of format; leave out to hold out `evalFraction` of `train` instead. */
    eval: z.string().min(1).optional(),
    /** Share of `train` held out for eval (seeded by the run's seed) when there is no `eval` file; 0 for none. */
    evalFraction: z.number().min(0).lt(1).default(0),
    /** Column mapping, TRL name -> the file's column name, for files that use other names. */
    columns: z
      .object({
        /** Language modelling, standard. */
        text: columnName.optional(),
        /** Language modelling, conversational. */
        messages: columnName.optional(),
        /** Prompt-only, prompt-completion and preference. */
        prompt: columnName.optional(),
        /** Prompt-completion. */
        completion: columnName.optional(),
        /** Preference. */
        chosen: columnName.optional(),
        /** Preference. */
        rejected: columnName.optional(),
      })
      .strict()
      .default({}),
    /** Visit the training rows in a new seeded order every epoch (false: file order). */
    shuffle: z.boolean().default(true),
  })
  .strict()
  .superRefine((config, context) => {
    if (config.eval !== undefined && config.evalFraction > 0) {
      context.addIssue({ code: 'custom', path: ['evalFraction'], message: `give either an eval file (eval: ${JSON.stringify(config.eval)}) or evalFraction (${config.evalFraction}), not both` });
    }
  });

/** A parsed `data` section. */
export type DataConfig = z.infer<typeof DataConfigSchema>;
/** A `data` section as a recipe writes it (defaults may be left out). */
export type DataConfigInput = z.input<typeof DataConfigSchema>;
