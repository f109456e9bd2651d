/**
 * Built-in reward for math: 1 when the completion's final numeric answer equals the reference column's, else 0.
 * The final answer is, in this order, the content of the last `\boxed{...}` (MATH's convention), the number
 * after the last `####` (GSM8K's), or the last number in the text. Numbers may carry thousands commas, a sign,
 * decimals, `a/b` or `\frac{a}{b}`. A reference that is a string is read the same way (so GSM8K's "... #### 72"
 * works as is).
 */
import type { RewardFunction } from './reward-function.ts';

const NUMBER = String.raw`-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|-?\.\d+`;
const FRACTION = new RegExp(String.raw`^\s*(${NUMBER})\s*/\s*(${NUMBER})\s*$`);
const LATEX_FRACTION = /^\s*(-?)\\[dt]?frac\{([^{}]+)\}\{([^{}]+)\}\s*$/;

/**
 * The final numeric answer in `text`, or undefined when there is none.
 *
 * @example
 * extractNumericAnswer('3 + 4 = 7, so she has \\boxed{7} apples');  // 7
 * extractNumericAnswer('... so 1,200 in all.\n#### 1,200');          // 1200
 * extractNumericAnswer('I think 12, no wait, 13');                   // 13
 */
export function extractNumericAnswer(text: string): number | undefined {
  const boxed = lastBoxed(text);
  if (boxed !== undefined) return parseNumber(boxed) ?? lastNumber(boxed);
  const marker = text.lastIndexOf('####');
  if (marker !== -1) return lastNumber(text.slice(marker + 4).split('\n')[0] ?? '', 'first');
  return lastNumber(text);
}

/**
 * @example
 * // rewards: [{ module: './math.ts', export: 'accuracy' }] with, in math.ts:
 * export const accuracy = numericAnswerMatch({ column: 'answer' });
 */
export function numericAnswerMatch(options: { column?: string; tolerance?: number } = {}): RewardFunction {
  const column = options.column ?? 'answer';
  const tolerance = options.tolerance ?? 1e-6;
  return (completions, context) => {
    const references = context[column];
    if (references === undefined) {
      throw new Error(`numericAnswerMatch: the dataset has no column "${column}" (columns: ${Object.keys(context).join(', ')}); pass { column } naming the reference answer`);
    }
    return completions.map((completion, index) => {
      const reference = toNumber(references[index]);
      if (reference === undefined) throw new Error(`numericAnswerMatch: sample ${index}: the reference ${JSON.stringify(references[index])} in column "${column}" holds no number`);
      const answer = extractNumericAnswer(completion);
      return answer !== undefined && Math.abs(answer - reference) <= tolerance * Math.max(1, Math.abs(reference)) ? 1 : 0;
    });
  };
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string') return extractNumericAnswer(value);
  return undefined;
}

/** The content of the last `\boxed{...}`, braces balanced. */
function lastBoxed(text: string): string | undefined {
  const start = text.lastIndexOf('\\boxed{');
  if (start === -1) return undefined;
  let depth = 0;
  for (let index = start + '\\boxed'.length; index < text.length; index++) {
    if (text[index] === '{') depth++;
    else if (text[index] === '}' && --depth === 0) return text.slice(start + '\\boxed{'.length, index);
  }
  return undefined;
}

/** A whole string that is one number, fraction or \frac. */
function parseNumber(text: string): number | undefined {
  const cleaned = text.replace(/\$|\\!|\\,|\s+/g, ' ').trim();
  const plain = new RegExp(`^(${NUMBER})$`).exec(cleaned);
  if (plain) return toFloat(plain[1]!);
  const fraction = FRACTION.exec(cleaned);
  if (fraction) return toFloat(fraction[1]!) / toFloat(fraction[2]!);
  const latex = LATEX_FRACTION.exec(cleaned);
  if (latex) {
    const [numerator, denominator] = [parseNumber(latex[2]!), parseNumber(latex[3]!)];
    if (numerator === undefined || denominator === undefined) return undefined;
    return (latex[1] === '-' ? -1 : 1) * (numerator / denominator);
  }
  return undefined;
}

function lastNumber(text: string, which: 'first' | 'last' = 'last'): number | undefined {
  const matches = text.match(new RegExp(NUMBER, 'g'));
  if (matches === null) return undefined;
  return toFloat(which === 'first' ? matches[0]! : matches[matches.length - 1]!);
}

function toFloat(text: string): number {
  return Number(text.replaceAll(',', ''));
}
