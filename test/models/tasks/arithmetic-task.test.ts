import { describe, expect, it } from 'vitest';
import { ArithmeticTask, createTask, DataCursor, takeRange } from '../../../models/tasks/index.ts';
import { ConfigError } from '../../../runtime/errors.ts';

const task = new ArithmeticTask({ seed: 5 });

describe('ArithmeticTask gold reward', () => {
  it('is exact correctness of the canonical answer before EOS', () => {
    expect(task.goldReward('23+45=', '68')).toBe(1);
    expect(task.goldReward('99+99=', '198')).toBe(1);
    expect(task.goldReward('0+0=', '0')).toBe(1);
    expect(task.goldReward('23+45=', '67')).toBe(0);
    expect(task.goldReward('23+45=', '068')).toBe(0);
    expect(task.goldReward('23+45=', '68 ')).toBe(0);
    expect(task.goldReward('23+45=', '+68')).toBe(0);
    expect(task.goldReward('23+45=', '6868')).toBe(0);
    expect(task.goldReward('23+45=', '')).toBe(0);
    expect(task.goldReward('23+45=', '68', { finished: false })).toBe(0);
    expect(task.goldReward('50-8=', '42')).toBe(1);
    expect(task.goldReward('12*12=', '144')).toBe(1);
  });

  it('refuses a prompt that is not a problem', () => {
    expect(() => task.goldReward('23 + 45', '68')).toThrow(/not an arithmetic prompt/);
  });
});

describe('ArithmeticTask data', () => {
  it('holds out a fixed eval set that no training prompt or SFT example ever uses', () => {
    expect(task.sizes()).toEqual({ train: 9000, eval: 1000 });
    const evalSet = new Set(task.evalPrompts());
    expect(evalSet.size).toBe(1000);
    for (let index = 0; index < 3000; index++) {
      expect(evalSet.has(task.trainPrompt(index))).toBe(false);
      expect(evalSet.has(task.sftExample(index).prompt)).toBe(false);
    }
    expect(new ArithmeticTask({ seed: 5 }).evalPrompts(50)).toEqual(task.evalPrompts(50));
    expect(new ArithmeticTask({ seed: 6 }).evalPrompts(50)).not.toEqual(task.evalPrompts(50));
  });

  it('SFT examples are correct, deterministic in (seed, index), and fit the declared limits', () => {
    const cursor = new DataCursor((index) => task.sftExample(index), 100);
    const examples = cursor.next(500);
    const again = new ArithmeticTask({ seed: 5 });
    expect(examples).toEqual(takeRange((index) => again.sftExample(index), 100, 500));
    for (const example of examples) {
      expect(task.goldReward(example.prompt, example.completion)).toBe(1);
      expect(task.tokenizer.encode(example.prompt, { bos: true }).length).toBeLessThanOrEqual(task.limits.promptTokens);
      expect(task.tokenizer.encode(example.completion, { eos: true }).length).toBeLessThanOrEqual(task.limits.completionTokens);
    }
    expect(task.limits).toEqual({ promptTokens: 7, completionTokens: 6, sequenceTokens: 13 });
  });

  it('subtraction and multiplication problems stay non-negative and within the context', () => {
    const harder = createTask({ name: 'arithmetic', seed: 1, operations: ['-', '*'], maxOperand: 999 });
    expect(harder.limits.sequenceTokens).toBeLessThanOrEqual(64);
    for (let index = 0; index < 500; index++) {
      const example = harder.sftExample(index);
      expect(example.completion).toMatch(/^(0|[1-9]\d*)$/);
      expect(harder.tokenizer.encode(example.completion, { addSpecialTokens: false }).length + 1).toBeLessThanOrEqual(harder.limits.completionTokens);
    }
  });

  it('bad options and unknown task names give ConfigErrors naming the field', () => {
    expect(() => createTask({ name: 'arithmetic', operations: ['/'] } as never)).toThrow(ConfigError);
    expect(() => createTask({ name: 'arithmetic', operations: ['/'] } as never)).toThrow(/task\.operations\.0/);
    expect(() => createTask({ name: 'chess' } as never)).toThrow(/unknown task "chess"; allowed: sentiment, arithmetic/);
    expect(createTask({ name: 'sentiment', seed: 3 }).toJSON()).toEqual({ name: 'sentiment', seed: 3, evalFraction: 0.2, pairCorruption: 0.1 });
  });
});
