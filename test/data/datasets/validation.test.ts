/**
 * Bad data stops the run before training: the first bad row is named by file:line (JSONL) or file row N
 * (Parquet), with its column, what was found and what was expected; a wrong format for the stage says which
 * format the stage needs. All are ConfigErrors, so the CLI exits 2.
 */
import { describe, expect, it, vi } from 'vitest';
import { reportError } from '../../../bin/cli-errors.ts';
import { DatasetError, JsonlSource, ParquetSource, loadDataset, validateDataset } from '../../../data/datasets/index.ts';
import { ConfigError } from '../../../runtime/errors.ts';
import { tempDir, writeJsonl, writeLines, writeParquet } from './files.ts';

async function jsonlError(lines: string[], options: Parameters<typeof validateDataset>[1] = {}): Promise<DatasetError> {
  const path = writeLines(tempDir(), 'train.jsonl', lines);
  const error = await validateDataset(await JsonlSource.open(path, 'train.jsonl'), options).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(DatasetError);
  return error as DatasetError;
}

const good = JSON.stringify({ prompt: 'What is 2 + 3?', completion: ' 5', answer: 5 });

describe('a malformed JSONL row stops validation at file:line', () => {
  it('bad JSON names the line and the parser complaint', async () => {
    const error = await jsonlError([good, good, '{"prompt": "x", "completion": ']);
    expect(error.code).toBe('DATA_ROW');
    expect(error.path).toBe('train.jsonl:3');
    expect(error.message).toMatch(/^train\.jsonl:3: found bad JSON \(.+\) in \{"prompt": "x", "completion":.*expected one JSON object per line$/);
  });

  it('a missing column names the column and says it is absent', async () => {
    const error = await jsonlError([good, JSON.stringify({ prompt: 'p', answer: 1 }), good]);
    expect(error.message).toBe('train.jsonl:2: column "completion": found nothing (the column is absent), expected a string');
  });

  it('a wrong type shows the value found', async () => {
    const error = await jsonlError([good, good, good, JSON.stringify({ prompt: 'p', completion: 42 })]);
    expect(error.message).toBe('train.jsonl:4: column "completion": found a number 42, expected a string');
  });

  it('an empty completion is an error, not a skipped row', async () => {
    const error = await jsonlError([good, JSON.stringify({ prompt: 'p', completion: '' })]);
    expect(error.message).toBe('train.jsonl:2: column "completion": found an empty string, expected non-empty text');
  });

  it('a conversational completion with only empty content is an empty completion', async () => {
    const prompt = [{ role: 'user', content: 'hi' }];
    const error = await jsonlError([JSON.stringify({ prompt, completion: [{ role: 'assistant', content: 'yo' }] }), JSON.stringify({ prompt, completion: [{ role: 'assistant', content: '' }] })]);
    expect(error.message).toBe('train.jsonl:2: column "completion": found messages with empty content only, expected a non-empty completion');
  });

  it('a message with a bad role names the message and the roles allowed', async () => {
    const user = { role: 'user', content: 'hi' };
    const error = await jsonlError([JSON.stringify({ messages: [user, { role: 'assistant', content: 'yo' }] }), JSON.stringify({ messages: [user, { role: 'bot', content: 'yo' }] })]);
    expect(error.message).toBe('train.jsonl:2: column "messages", message 1: found role "bot", expected one of system, user, assistant, tool');
  });

  it('a row whose style differs from the first row says so', async () => {
    const error = await jsonlError([JSON.stringify({ prompt: [{ role: 'user', content: 'hi' }] }), JSON.stringify({ prompt: 'hi' })]);
    expect(error.message).toMatch(/^train\.jsonl:2: column "prompt": found a string "hi", expected a list of .* \(this file is conversational/);
  });

  it('a blank line in the middle is reported, the final newline is not', async () => {
    const error = await jsonlError([good, '', good]);
    expect(error.message).toBe('train.jsonl:2: found an empty line, expected a JSON object (remove blank lines)');
    const path = writeLines(tempDir(), 'ok.jsonl', [good, good]);
    expect((await validateDataset(await JsonlSource.open(path))).rows).toBe(2);
  });

  it('a line that is JSON but not an object names the columns expected', async () => {
    const error = await jsonlError([good, '[1, 2]']);
    expect(error.message).toBe('train.jsonl:2: found a list [1,2], expected an object with columns "prompt", "completion"');
  });
});

describe('a malformed Parquet row stops validation at file row N', () => {
  it('names the row (from 0), the column and what was found', async () => {
    const rows = [{ prompt: 'a', completion: ' 1' }, { prompt: 'b', completion: ' 2' }, { prompt: 'c', completion: '' }, { prompt: 'd', completion: ' 4' }];
    const path = writeParquet(tempDir(), 'train.parquet', rows, 2);
    const error = await validateDataset(await ParquetSource.open(path, 'train.parquet')).catch((thrown: unknown) => thrown as DatasetError);
    expect(error).toBeInstanceOf(DatasetError);
    expect((error as DatasetError).message).toBe('train.parquet row 2: column "completion": found an empty string, expected non-empty text');
  });

  it('a null value is a wrong type', async () => {
    const path = writeParquet(tempDir(), 'train.parquet', [{ prompt: 'a', answer: 1 }, { prompt: null, answer: 2 }]);
    const error = await validateDataset(await ParquetSource.open(path, 'train.parquet')).catch((thrown: unknown) => thrown as DatasetError);
    expect((error as DatasetError).message).toBe('train.parquet row 1: column "prompt": found null, expected a string');
  });

  it('a file that is not Parquet says so', async () => {
    const path = writeLines(tempDir(), 'fake.parquet', ['not parquet']);
    await expect(ParquetSource.open(path, 'fake.parquet')).rejects.toMatchObject({ code: 'DATA_FILE', path: 'fake.parquet' });
  });
});

describe('the format must suit the stage', () => {
  const dir = tempDir();
  const pairs = writeJsonl(dir, 'pairs.jsonl', [{ prompt: 'p', chosen: ' a', rejected: ' b' }]);
  const prompts = writeJsonl(dir, 'prompts.jsonl', [{ prompt: 'p', answer: 1 }]);

  it('pairs given to GRPO name the formats GRPO takes', async () => {
    const error = await loadDataset({ train: 'pairs.jsonl' }, { stage: 'grpo', baseDir: dir, seed: 0 }).catch((thrown: unknown) => thrown as DatasetError);
    expect(error).toMatchObject({ code: 'DATA_FORMAT', path: 'pairs.jsonl' });
    expect((error as DatasetError).message).toBe(
      'pairs.jsonl: the grpo stage needs a prompt-only or prompt-completion dataset (columns prompt, or prompt + completion), found a preference dataset',
    );
  });

  it('prompts given to DPO name the preference formats', async () => {
    await expect(loadDataset({ train: 'prompts.jsonl' }, { stage: 'dpo', baseDir: dir, seed: 0 })).rejects.toThrow(
      'prompts.jsonl: the dpo stage needs a preference or implicit-prompt-preference dataset (columns prompt + chosen + rejected, or chosen + rejected), found a prompt-only dataset',
    );
  });

  it('unknown columns list the formats and the mapping that would fix it', async () => {
    const path = writeJsonl(dir, 'qa.jsonl', [{ question: 'q', solution: 's' }]);
    await expect(validateDataset(await JsonlSource.open(path, 'qa.jsonl'))).rejects.toThrow(/found columns "question", "solution", expected one of TRL's formats.*data\.columns/);
  });

  it('a column mapping reads other names, and a mapping to a missing column is refused', async () => {
    writeJsonl(dir, 'qa2.jsonl', [{ question: 'What is 1+1?', solution: ' 2', source: 'gen' }]);
    const data = await loadDataset({ train: 'qa2.jsonl', columns: { prompt: 'question', completion: 'solution' } }, { stage: 'sft', baseDir: dir, seed: 0 });
    expect(data.format).toEqual({ kind: 'prompt-completion', style: 'standard' });
    expect(await data.train.read([0])).toEqual([{ row: 0, kind: 'prompt-completion', prompt: 'What is 1+1?', completion: ' 2', columns: { source: 'gen' } }]);
    await expect(loadDataset({ train: 'qa2.jsonl', columns: { prompt: 'query' } }, { stage: 'sft', baseDir: dir, seed: 0 })).rejects.toMatchObject({
      code: 'DATA_CONFIG',
      path: 'data.columns.prompt',
    });
  });

  it('a bad data section is a ConfigError naming the field', async () => {
    await expect(loadDataset({ train: 'prompts.jsonl', eval: 'prompts.jsonl', evalFraction: 0.1 }, { stage: 'grpo', baseDir: dir, seed: 0 })).rejects.toMatchObject({
      path: 'data.evalFraction',
    });
    await expect(loadDataset({ train: 'prompts.csv' }, { stage: 'grpo', baseDir: dir, seed: 0 })).rejects.toThrow('prompts.csv: found a ".csv" file, expected .jsonl');
    await expect(loadDataset({ train: 'missing.jsonl' }, { stage: 'grpo', baseDir: dir, seed: 0 })).rejects.toMatchObject({ code: 'DATA_FILE', path: 'missing.jsonl' });
  });
});

describe('the CLI treats dataset errors as user mistakes', () => {
  it('exits 2 with the location and no stack trace', () => {
    const error = new DatasetError('DATA_ROW', 'train.jsonl:3', 'column "completion": found an empty string, expected non-empty text');
    expect(error).toBeInstanceOf(ConfigError);
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => written.push(String(chunk)) > 0);
    try {
      expect(reportError(error, 'recipe run')).toBe(2);
    } finally {
      spy.mockRestore();
    }
    expect(written.join('')).toBe('recipe run: invalid recipe, argument or option:\n  train.jsonl:3: column "completion": found an empty string, expected non-empty text\n');
  });
});
