/** One small example of each TRL dataset format (https://huggingface.co/docs/trl/dataset_formats), 3 rows each. */
import type { DatasetFormat } from '../../../data/datasets/index.ts';

const user = (content: string) => ({ role: 'user', content });
const assistant = (content: string) => ({ role: 'assistant', content });

export const TRL_FORMAT_CASES: { name: string; format: DatasetFormat; rows: Record<string, unknown>[] }[] = [
  { name: 'standard language modeling', format: { kind: 'language-modeling', style: 'standard' }, rows: [1, 2, 3].map((n) => ({ text: `The sky is blue ${n}.` })) },
  {
    name: 'conversational language modeling',
    format: { kind: 'language-modeling', style: 'conversational' },
    rows: [1, 2, 3].map((n) => ({ messages: [user(`What color is sky ${n}?`), assistant('It is blue.')] })),
  },
  { name: 'standard prompt-only', format: { kind: 'prompt-only', style: 'standard' }, rows: [1, 2, 3].map((n) => ({ prompt: `What is ${n} + 1?`, answer: n + 1 })) },
  { name: 'conversational prompt-only', format: { kind: 'prompt-only', style: 'conversational' }, rows: [1, 2, 3].map((n) => ({ prompt: [user(`What is ${n} + 1?`)], answer: n + 1 })) },
  { name: 'standard prompt-completion', format: { kind: 'prompt-completion', style: 'standard' }, rows: [1, 2, 3].map((n) => ({ prompt: `${n} + 1 =`, completion: ` ${n + 1}` })) },
  {
    name: 'conversational prompt-completion',
    format: { kind: 'prompt-completion', style: 'conversational' },
    rows: [1, 2, 3].map((n) => ({ prompt: [user(`${n} + 1?`)], completion: [assistant(`${n + 1}`)] })),
  },
  { name: 'standard preference', format: { kind: 'preference', style: 'standard' }, rows: [1, 2, 3].map((n) => ({ prompt: `The sky ${n} is`, chosen: ' blue.', rejected: ' green.' })) },
  {
    name: 'conversational preference',
    format: { kind: 'preference', style: 'conversational' },
    rows: [1, 2, 3].map((n) => ({ prompt: [user(`Color of sky ${n}?`)], chosen: [assistant('Blue.')], rejected: [assistant('Green.')] })),
  },
  {
    name: 'standard implicit-prompt preference',
    format: { kind: 'implicit-prompt-preference', style: 'standard' },
    rows: [1, 2, 3].map((n) => ({ chosen: `The sky ${n} is blue.`, rejected: `The sky ${n} is green.` })),
  },
  {
    name: 'conversational implicit-prompt preference',
    format: { kind: 'implicit-prompt-preference', style: 'conversational' },
    rows: [1, 2, 3].map((n) => ({ chosen: [user(`Sky ${n}?`), assistant('Blue.')], rejected: [user(`Sky ${n}?`), assistant('Green.')] })),
  },
];
