/**
 * JSON exactly as Python's `json.dumps` writes it (default separators `", "` / `": "`, `ensure_ascii`, floats in
 * `repr` form, `NaN` / `Infinity` allowed), because Optuna stores every attribute and distribution through it and a
 * study written by posttrain should be byte-for-byte what Optuna would have written.
 */

/**
 * Python's `repr(float)`: the shortest round-tripping digits, fixed notation for exponents in [-4, 16),
 * scientific (`1e-05`, `1.5e+16`) otherwise, and always a `.0` on whole numbers.
 *
 * @example
 * pythonFloatRepr(1e-5);  // '1e-05'
 * pythonFloatRepr(1);     // '1.0'
 */
export function pythonFloatRepr(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const sign = value < 0 ? '-' : '';
  // toExponential() with no argument gives the shortest digits that round-trip, like Python's repr.
  const [mantissa, exponentText] = Math.abs(value).toExponential().split('e') as [string, string];
  const digits = mantissa.replace('.', '');
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) {
    const fraction = digits.length > 1 ? `.${digits.slice(1)}` : '';
    const exponentDigits = String(Math.abs(exponent)).padStart(2, '0');
    return `${sign}${digits[0]}${fraction}e${exponent < 0 ? '-' : '+'}${exponentDigits}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  const integerPart = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
  const fractionPart = digits.slice(exponent + 1);
  return `${sign}${integerPart}.${fractionPart || '0'}`;
}

/** A number that Python would hold as a float even when it is whole (`1.0`, not `1`). */
export class PythonFloat {
  constructor(readonly value: number) {}
}

/**
 * `json.dumps(value)` as Python writes it. Whole JS numbers within the safe-integer range are written as Python
 * ints; wrap a number in `PythonFloat` to force float form. `undefined` object members are dropped.
 *
 * @example
 * toPythonJson({ k: [1, 2.5, 'é'] });  // '{"k": [1, 2.5, "\\u00e9"]}'
 */
export function toPythonJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof PythonFloat) return pythonFloatRepr(value.value);
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return Number.isSafeInteger(value) && !Object.is(value, -0) ? String(value) : pythonFloatRepr(value);
    case 'bigint':
      return value.toString();
    case 'string':
      return pythonString(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(toPythonJson).join(', ')}]`;
      if (value instanceof Map) {
        return `{${[...value].map(([key, item]) => `${pythonString(String(key))}: ${toPythonJson(item)}`).join(', ')}}`;
      }
      const entries = Object.entries(value as Record<string, unknown>).filter(([, item]) => item !== undefined);
      return `{${entries.map(([key, item]) => `${pythonString(key)}: ${toPythonJson(item)}`).join(', ')}}`;
    }
    default:
      throw new TypeError(`cannot store a ${typeof value} as JSON`);
  }
}

const SHORT_ESCAPES: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };

function pythonString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    const code = text.charCodeAt(i);
    if (SHORT_ESCAPES[char] !== undefined) out += SHORT_ESCAPES[char];
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += char;
  }
  return `${out}"`;
}

/**
 * Parses JSON written by Python, which may contain the bare tokens `NaN`, `Infinity` and `-Infinity`
 * that `JSON.parse` rejects. Plain JSON takes the fast path.
 */
export function parsePythonJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return new PythonJsonParser(text).parseDocument();
  }
}

class PythonJsonParser {
  private position = 0;
  constructor(private readonly text: string) {}

  parseDocument(): unknown {
    const value = this.parseValue();
    this.skipWhitespace();
    if (this.position !== this.text.length) this.fail('trailing characters');
    return value;
  }

  private parseValue(): unknown {
    this.skipWhitespace();
    const char = this.text[this.position];
    if (char === '{') return this.parseObject();
    if (char === '[') return this.parseArray();
    if (char === '"') return this.parseString();
    for (const [token, value] of LITERALS) {
      if (this.text.startsWith(token, this.position)) {
        this.position += token.length;
        return value;
      }
    }
    const match = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(this.text.slice(this.position));
    if (!match) this.fail('unexpected character');
    this.position += match[0].length;
    return Number(match[0]);
  }

  private parseObject(): Record<string, unknown> {
    const result: Record<string, unknown> = {};
    this.position++;
    this.skipWhitespace();
    if (this.text[this.position] === '}') return this.position++, result;
    for (;;) {
      this.skipWhitespace();
      const key = this.parseString();
      this.skipWhitespace();
      this.expect(':');
      result[key] = this.parseValue();
      this.skipWhitespace();
      if (this.text[this.position] === '}') return this.position++, result;
      this.expect(',');
    }
  }

  private parseArray(): unknown[] {
    const result: unknown[] = [];
    this.position++;
    this.skipWhitespace();
    if (this.text[this.position] === ']') return this.position++, result;
    for (;;) {
      result.push(this.parseValue());
      this.skipWhitespace();
      if (this.text[this.position] === ']') return this.position++, result;
      this.expect(',');
    }
  }

  private parseString(): string {
    const match = /^"(?:[^"\\]|\\.)*"/s.exec(this.text.slice(this.position));
    if (!match) this.fail('expected a string');
    this.position += match[0].length;
    return JSON.parse(match[0]) as string;
  }

  private expect(char: string): void {
    if (this.text[this.position] !== char) this.fail(`expected '${char}'`);
    this.position++;
  }

  private skipWhitespace(): void {
    while (/\s/.test(this.text[this.position] ?? '')) this.position++;
  }

  private fail(reason: string): never {
    throw new SyntaxError(`invalid JSON at ${this.position}: ${reason}`);
  }
}

const LITERALS: [string, unknown][] = [
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
  ['true', true],
  ['false', false],
  ['null', null],
];
