/**
 * One row of a dataset after validation: the format columns under TRL's names (strings, or message lists for a
 * conversational dataset) and every other column of the row, untouched, for reward functions.
 */
import type { DatasetKind } from './dataset-format.ts';

export const MESSAGE_ROLES = ['system', 'user', 'assistant', 'tool'] as const;
/** Who speaks a message, as chat templates name them. */
export type MessageRole = (typeof MESSAGE_ROLES)[number];

/** One chat message, as in a conversational dataset and as chat templates take it. */
export interface Message {
  /** Who speaks. */
  role: MessageRole;
  /** What is said. */
  content: string;
}

/** A format column's value: a string (standard) or a list of messages (conversational). */
export type Turns = string | Message[];

/** One validated row. Exactly the fields of its kind are set (see `columnsOf` in dataset-format.ts). */
export interface DatasetSample {
  /** Row index in its file, counting from 0 (JSONL line `row + 1`), for messages and logs. */
  row: number;
  /** The dataset's kind. */
  kind: DatasetKind;
  /** Language modelling: the whole sequence (TRL's `text`, or `messages` when conversational). */
  text?: Turns;
  /** The prompt (prompt-only, prompt-completion, preference). */
  prompt?: Turns;
  /** The completion to learn (prompt-completion). */
  completion?: Turns;
  /** The preferred completion (preference) or whole sequence (implicit-prompt preference). */
  chosen?: Turns;
  /** The dispreferred completion or whole sequence. */
  rejected?: Turns;
  /** Every other column of the row, by its name in the file (e.g. `answer`), for reward functions. */
  columns: Record<string, unknown>;
}
