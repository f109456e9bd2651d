/**
 * A reward module for the style preference in examples/data/preferences (data/generate/style-preferences.ts):
 * calm notes are preferred to shouted ones. A recipe names its exports (paths relative to the recipe file):
 *
 *   rewards: [{ module: '../examples/rewards/style.ts', export: 'calm', weight: 1 }]
 *
 * Each export is `(completions: string[], context: { prompts, completionIds, ...columns }) => number[]`.
 */
import type { RewardFunction } from '../../data/rewards/index.ts';

/** 1 for a calm note: it has a full stop, no exclamation mark and no shouted (all-capital) word; else 0. */
export const calm: RewardFunction = (completions) =>
  completions.map((completion) => (completion.includes('.') && !completion.includes('!') && !/\b[A-Z]{2,}\b/.test(completion) ? 1 : 0));

/**
 * 1 for a calm note that also delivers the prompt's message: for "Tell Ann that the keys are here." it must name
 * Ann and say "the keys are here", so a bare " Thanks." (calm by the rule above) earns nothing. Prompts not of the
 * form "Tell <name> that <message>." are judged by `calm` alone.
 */
export const calmMessage: RewardFunction = (completions, context) => {
  const calmness = calm(completions, context) as number[];
  return completions.map((completion, index) => {
    const asked = /^Tell (\S+) that (.+)\.$/.exec(context.prompts[index]!.trim());
    const delivered = asked === null || (completion.includes(asked[1]!) && completion.includes(asked[2]!));
    return delivered ? calmness[index]! : 0;
  });
};

/** 1 for a shouted note (an exclamation mark or an all-capital word), else 0: the dispreferred style, for comparison. */
export const shouted: RewardFunction = (completions) => completions.map((completion) => (completion.includes('!') || /\b[A-Z]{2,}\b/.test(completion) ? 1 : 0));
