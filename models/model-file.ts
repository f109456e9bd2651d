/**
 * A trained model on disk: `<name>.bin` holds the flat float32 weights as raw little-endian bytes, `<name>.json`
 * holds everything needed to rebuild it (GPT config, head, parameter manifest, checksum, tokenizer, and free-form
 * metadata such as the stage that produced it). This is how pipeline stages hand models to each other
 * (SFT -> reward model -> PPO) and how `recipe run` knows a stage's output already exists.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PosttrainError } from '../runtime/errors.ts';
import { checksum, FlatParameters, type ParameterManifest } from './flat-parameters.ts';
import type { GPTConfig } from './gpt-config.ts';
import type { HeadKind } from './gpt.ts';

/** The JSON half of a model file. */
export interface ModelFileHeader {
  format: 'posttrain-model-v1';
  config: GPTConfig;
  head: HeadKind;
  manifest: ParameterManifest;
  /** `checksum()` of the weights, verified on load. */
  checksum: string;
  /** Anything the writer wants to record (stage, step, config hash, tokenizer). */
  metadata: Record<string, unknown>;
}

/** A loaded model file: header plus weights. */
export interface ModelFile extends ModelFileHeader {
  weights: Float32Array;
}

/**
 * Writes `<directory>/<name>.bin` then `<directory>/<name>.json` (the header last, so a header always describes
 * complete weights). Both are written to temporary names and renamed.
 *
 * @example
 * saveModelFile('runs/demo/sft', 'model', { config: model.config, head: model.head, weights: model.parameters.data,
 *   manifest: model.parameters.manifest, metadata: { stage: 'sft' } });
 */
export function saveModelFile(
  directory: string,
  name: string,
  model: { config: GPTConfig; head: HeadKind; manifest: ParameterManifest; weights: Float32Array; metadata?: Record<string, unknown> },
): string {
  mkdirSync(directory, { recursive: true });
  const header: ModelFileHeader = {
    format: 'posttrain-model-v1',
    config: model.config,
    head: model.head,
    manifest: model.manifest,
    checksum: checksum(model.weights),
    metadata: model.metadata ?? {},
  };
  const binaryPath = join(directory, `${name}.bin`);
  const headerPath = join(directory, `${name}.json`);
  writeAtomically(binaryPath, new Uint8Array(model.weights.buffer, model.weights.byteOffset, model.weights.byteLength));
  writeAtomically(headerPath, JSON.stringify(header, null, 1));
  return headerPath;
}

/** Whether a complete model file exists (its header is written last). */
export function modelFileExists(directory: string, name: string): boolean {
  return existsSync(join(directory, `${name}.json`)) && existsSync(join(directory, `${name}.bin`));
}

/** Reads just the header (cheap: no weights). */
export function readModelHeader(directory: string, name: string): ModelFileHeader {
  const headerPath = join(directory, `${name}.json`);
  if (!existsSync(headerPath)) {
    throw new PosttrainError('MODEL_FILE_MISSING', `no model file at ${headerPath}; run the stage that produces it first`, { path: headerPath });
  }
  const header = JSON.parse(readFileSync(headerPath, 'utf8')) as ModelFileHeader;
  if (header.format !== 'posttrain-model-v1') {
    throw new PosttrainError('MODEL_FILE_INVALID', `${headerPath} is not a posttrain model file (format ${JSON.stringify(header.format)})`, { path: headerPath });
  }
  return header;
}

/** Reads header and weights and verifies the checksum. */
export function loadModelFile(directory: string, name: string): ModelFile {
  const header = readModelHeader(directory, name);
  const binaryPath = join(directory, `${name}.bin`);
  const bytes = readFileSync(binaryPath);
  if (bytes.byteLength !== header.manifest.size * 4) {
    throw new PosttrainError('MODEL_FILE_INVALID', `${binaryPath} has ${bytes.byteLength} bytes, its header expects ${header.manifest.size * 4}`, { path: binaryPath });
  }
  const weights = new Float32Array(header.manifest.size);
  new Uint8Array(weights.buffer).set(bytes);
  if (checksum(weights) !== header.checksum) {
    throw new PosttrainError('MODEL_FILE_CORRUPT', `${binaryPath} does not match its checksum ${header.checksum}`, { path: binaryPath });
  }
  return { ...header, weights };
}

/**
 * Copies every parameter that `from` and `into` share by name and shape (the trunk), leaving the rest (a head of a
 * different kind) as initialised. This is how a reward model starts from the SFT model, and a value model from the
 * reward model (InstructGPT, Ouyang et al. 2022, section 3.5). Returns the names copied.
 */
export function transplantParameters(from: FlatParameters, into: FlatParameters): string[] {
  const copied: string[] = [];
  for (const entry of into.manifest.entries) {
    const source = from.manifest.entries.find((candidate) => candidate.name === entry.name);
    if (!source || source.shape.join('x') !== entry.shape.join('x')) continue;
    into.view(entry.name).set(from.view(entry.name));
    copied.push(entry.name);
  }
  return copied;
}

function writeAtomically(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, data);
  renameSync(temporary, path);
}

/** Splits a model file path without extension (`runs/demo/sft/model`) into its directory and name. */
export function modelFileLocation(path: string): { directory: string; name: string } {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? { directory: '.', name: path } : { directory: path.slice(0, slash) || '/', name: path.slice(slash + 1) };
}
