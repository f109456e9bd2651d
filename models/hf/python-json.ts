/**
 * JSON text exactly as Python's `json.dumps(value, indent=2, sort_keys=True) + "\n"` writes it, which is how
 * transformers writes `config.json`, `generation_config.json` and `model.safetensors.index.json`. Written by hand:
 * no npm serializer reproduces Python's output (JSON.stringify differs in three ways that show in these files).
 *
 * 1. Floats. Python keeps the float/int distinction (`0.0`, `10000.0`, `1e-05`); JavaScript numbers do not. A
 *    number is written as a float when it is not an integer, or when its key (or, for a list, the list's key)
 *    names a field that transformers' config classes type as float (FLOAT_KEYS). Floats use Python's `repr`:
 *    the same shortest round-trip digits as JavaScript, but in exponent form below 1e-4 and from 1e16 on, with
 *    a signed exponent of at least two digits (`1e-05`, `1e+16`).
 * 2. `ensure_ascii`: every character outside printable ASCII (0x20-0x7e) is escaped as `\uXXXX` (lower-case
 *    hex, UTF-16 code units), DEL included.
 * 3. Keys are sorted (code-unit order, which equals Python's code-point order for the keys configs use).
 */

/**
 * Config fields that transformers types as float (PretrainedConfig, GPT2Config, LlamaConfig, Qwen2Config,
 * Qwen3Config, MistralConfig, their `rope_scaling` / `rope_parameters` entries, and GenerationConfig), so an
 * integer-valued number there is still written `32.0`.
 */
export const FLOAT_KEYS: ReadonlySet<string> = new Set([
  // dropout and initialisation
  'attn_pdrop', 'embd_pdrop', 'resid_pdrop', 'summary_first_dropout', 'attention_dropout', 'hidden_dropout',
  'mlp_dropout', 'classifier_dropout', 'initializer_range',
  // normalisation
  'layer_norm_epsilon', 'layer_norm_eps', 'rms_norm_eps',
  // rotary embeddings and their scaling (rope_scaling / rope_parameters)
  'rope_theta', 'partial_rotary_factor', 'factor', 'low_freq_factor', 'high_freq_factor', 'attention_factor',
  'beta_fast', 'beta_slow', 'mscale', 'mscale_all_dim', 'short_factor', 'long_factor',
  // generation
  'temperature', 'top_p', 'typical_p', 'min_p', 'epsilon_cutoff', 'eta_cutoff', 'repetition_penalty',
  'length_penalty', 'diversity_penalty', 'encoder_repetition_penalty',
]);

/**
 * Python's `json.dumps(value, indent=2, sort_keys=True) + "\n"`.
 *
 * @example
 * pythonJson({ rms_norm_eps: 1e-5, rope_theta: 10000, vocab_size: 320 });
 * // '{\n  "rms_norm_eps": 1e-05,\n  "rope_theta": 10000.0,\n  "vocab_size": 320\n}\n'
 */
export function pythonJson(value: unknown): string {
  return `${write(value, '', false)}\n`;
}

function write(value: unknown, indent: string, asFloat: boolean): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return asFloat || !Number.isInteger(value) ? pythonFloat(value) : String(value);
  if (typeof value === 'string') return pythonString(value);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((item) => inner + write(item, inner, asFloat)).join(',\n')}\n${indent}]`;
  }
  if (typeof value === 'object') {
    const keys = Object.keys(value).filter((key) => (value as Record<string, unknown>)[key] !== undefined).sort();
    if (keys.length === 0) return '{}';
    const lines = keys.map((key) => `${inner}${pythonString(key)}: ${write((value as Record<string, unknown>)[key], inner, FLOAT_KEYS.has(key))}`);
    return `{\n${lines.join(',\n')}\n${indent}}`;
  }
  throw new TypeError(`pythonJson: cannot write a ${typeof value}`);
}

/**
 * Python's `repr(float)`: shortest round-trip digits; exponent form when the exponent is < -4 or >= 16.
 *
 * @example
 * pythonFloat(1e-5); // '1e-05'
 * pythonFloat(10000); // '10000.0'
 */
export function pythonFloat(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const [mantissa, exponentText] = value.toExponential().split('e') as [string, string];
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) {
    return `${mantissa}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  const fixed = String(value); // JavaScript writes fixed notation for 1e-7 <= |x| < 1e21
  return fixed.includes('.') ? fixed : `${fixed}.0`;
}

/** A JSON string with Python's `ensure_ascii` escaping. */
function pythonString(text: string): string {
  return JSON.stringify(text).replace(/[^\x20-\x7e]/g, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
