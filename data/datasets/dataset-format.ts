/**
 * The dataset formats TRL documents (https://huggingface.co/docs/trl/dataset_formats), which stage trains on
 * which, and how a file's columns are recognised. A format is a *kind* (which columns) and a *style* (plain
 * strings, "standard", or lists of `{ role, content }` messages, "conversational"):
 *
 * | kind                       | standard                                          | conversational                          |
 * | -------------------------- | ------------------------------------------------- | --------------------------------------- |
 * | language-modeling          | `{"text": "The sky is blue."}`                     | `{"messages": [{"role": "user", ...}]}` |
 * | prompt-only                | `{"prompt": "The sky is"}`                         | `{"prompt": [{"role": "user", ...}]}`   |
 * | prompt-completion          | `{"prompt": "The sky is", "completion": " blue."}` | prompt and completion as message lists  |
 * | preference                 | `{"prompt": ..., "chosen": ..., "rejected": ...}` | all three as message lists              |
 * | implicit-prompt-preference | `{"chosen": "The sky is blue.", "rejected": ...}`  | chosen and rejected as message lists    |
 *
 * Every other column travels with the sample (reward functions read them, e.g. a reference `answer`).
 */
import { DatasetError } from './dataset-error.ts';

export const DATASET_KINDS = ['language-modeling', 'prompt-only', 'prompt-completion', 'preference', 'implicit-prompt-preference'] as const;
/** Which columns a dataset has, in TRL's terms. */
export type DatasetKind = (typeof DATASET_KINDS)[number];
/** `standard`: every format column is a string; `conversational`: every format column is a list of messages. */
export type DatasetStyle = 'standard' | 'conversational';

/** The format of one dataset file. */
export interface DatasetFormat {
  /** Which columns the file has. */
  kind: DatasetKind;
  /** Strings or message lists. */
  style: DatasetStyle;
}

/** The columns a format reads, by TRL's names. `text` and `messages` are the two spellings of the LM column. */
export const FORMAT_COLUMNS = ['text', 'messages', 'prompt', 'completion', 'chosen', 'rejected'] as const;
/** One of TRL's column names. */
export type FormatColumn = (typeof FORMAT_COLUMNS)[number];

/** The columns each kind needs, in the order they are checked and reported. */
export function columnsOf(format: DatasetFormat): FormatColumn[] {
  switch (format.kind) {
    case 'language-modeling':
      return [format.style === 'standard' ? 'text' : 'messages'];
    case 'prompt-only':
      return ['prompt'];
    case 'prompt-completion':
      return ['prompt', 'completion'];
    case 'preference':
      return ['prompt', 'chosen', 'rejected'];
    case 'implicit-prompt-preference':
      return ['chosen', 'rejected'];
  }
}

/** The training stages (as in trainers/recipe.ts) and the kinds each can train on, first the one it prefers. */
export const STAGE_KINDS = {
  /** SFT learns the whole text (LM) or the completion given the prompt. */
  sft: ['language-modeling', 'prompt-completion'],
  /** The reward model and DPO learn from chosen vs rejected. */
  reward: ['preference', 'implicit-prompt-preference'],
  dpo: ['preference', 'implicit-prompt-preference'],
  /** PPO and GRPO only need prompts; a completion column is kept as the reference answer for reward functions. */
  ppo: ['prompt-only', 'prompt-completion'],
  grpo: ['prompt-only', 'prompt-completion'],
} as const satisfies Record<string, readonly DatasetKind[]>;
/** A stage that reads a dataset. */
export type DatasetStage = keyof typeof STAGE_KINDS;

/**
 * The kind a file holds, from its column names (after the column mapping): preference columns win over
 * prompt/completion, which win over the LM columns, as in TRL's `is_conversational`/type checks.
 *
 * @example
 * detectKind(['prompt', 'completion', 'answer']);   // 'prompt-completion'
 * detectKind(['chosen', 'rejected']);               // 'implicit-prompt-preference'
 */
export function detectKind(columns: readonly string[], where: string): DatasetKind {
  const has = new Set(columns);
  if (has.has('chosen') && has.has('rejected')) return has.has('prompt') ? 'preference' : 'implicit-prompt-preference';
  if (has.has('chosen') || has.has('rejected')) {
    throw new DatasetError('DATA_FORMAT', where, `found only "${has.has('chosen') ? 'chosen' : 'rejected'}", expected both "chosen" and "rejected" for a preference dataset`);
  }
  if (has.has('prompt')) return has.has('completion') ? 'prompt-completion' : 'prompt-only';
  if (has.has('completion')) throw new DatasetError('DATA_FORMAT', where, 'found "completion" without "prompt", expected both for a prompt-completion dataset');
  if (has.has('text') || has.has('messages')) return 'language-modeling';
  throw new DatasetError(
    'DATA_FORMAT',
    where,
    `found columns ${formatList(columns)}, expected one of TRL's formats: "text" or "messages" (language modelling), "prompt" (prompt-only), ` +
      '"prompt" + "completion", "prompt" + "chosen" + "rejected", or "chosen" + "rejected"; map other names with data.columns, e.g. { prompt: "question" }',
  );
}

/**
 * Checks that a stage can train on a dataset's kind; the error names the stage, the kinds it takes and the kind
 * found (pairs given to GRPO, prompts given to DPO).
 *
 * @example
 * requireStageKind('dpo', 'prompt-only', 'prompts.jsonl');  // throws: dpo needs preference ... found prompt-only
 */
export function requireStageKind(stage: DatasetStage, kind: DatasetKind, where: string): void {
  const allowed: readonly DatasetKind[] = STAGE_KINDS[stage];
  if (allowed.includes(kind)) return;
  throw new DatasetError(
    'DATA_FORMAT',
    where,
    `the ${stage} stage needs a ${allowed.join(' or ')} dataset (columns ${allowed.map((each) => columnsOf({ kind: each, style: 'standard' }).join(' + ')).join(', or ')}), found a ${kind} dataset`,
  );
}

function formatList(columns: readonly string[]): string {
  return columns.length === 0 ? '(none)' : columns.map((column) => `"${column}"`).join(', ');
}
