import { afterAll } from 'vitest';
import { loadTokenizer } from '../../../data/tokenizers/index.ts';
import { CharTokenizer } from '../../../models/tokenizer.ts';
import { gpt2Directory, qwen3Directory, removeGpt2Directory } from './fixture-folders.ts';
import { tokenizerConformance } from './tokenizer-conformance.ts';

afterAll(removeGpt2Directory);

const taskTexts = ['the film was', ' truly great!', '23+45=', '68', ''];
const anyText = [...taskTexts, 'Héllo, wörld 🙂', '東京は晴れ', 'tabs\tand\nnewlines\r\n'];

tokenizerConformance('CharTokenizer', () => new CharTokenizer(), taskTexts);
tokenizerConformance('HfTokenizer (GPT-2, vocab.json + merges.txt)', () => loadTokenizer(gpt2Directory()), anyText);
tokenizerConformance('HfTokenizer (Qwen3, tokenizer.json)', () => loadTokenizer(qwen3Directory), anyText);
