/**
 * Where a model comes from: a local Hugging Face folder, or `hf:Org/Name@revision` fetched from the Hugging Face
 * Hub into the standard cache that Python's huggingface_hub also uses, so either side reuses the other's files:
 *
 *   $HF_HUB_CACHE (default $HF_HOME/hub, HF_HOME default ~/.cache/huggingface)
 *     models--Org--Name/blobs/<etag>                 file contents
 *     models--Org--Name/snapshots/<commit>/<file>    symlinks to blobs: the folder we load
 *     models--Org--Name/refs/<revision>              the commit a branch or tag pointed at when fetched
 *
 * Downloads go through `@huggingface/hub` (the official package): `modelInfo` resolves the revision to a commit
 * and lists files, `downloadFileToCacheDir` fills blobs and snapshots. We fetch only what a loader reads (config,
 * generation config, safetensors and their index and shards, tokenizer files), not the whole repository.
 * Environment: HF_TOKEN (sent as a bearer token), HF_ENDPOINT (another hub or a mirror), HF_HUB_OFFLINE=1 (use
 * only the cache; fail, naming what is missing, when it lacks the model). When the hub cannot be reached at all
 * and the cache holds the revision, the cache is used, as huggingface_hub does.
 *
 * Tests run this against a loopback HTTP server (node:http on 127.0.0.1) serving fixture folders in the hub's
 * URL layout: nothing can be downloaded from the real hub here.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { downloadFileToCacheDir, HubApiError, modelInfo } from '@huggingface/hub';
import { PosttrainError } from '../../runtime/errors.ts';
import { readHfConfig, TOKENIZER_FILES } from './hf-folder.ts';
import { INDEX_FILE, SINGLE_FILE } from './safetensors.ts';

/** A model folder ready to read, and where it came from. */
export interface ModelSource {
  /** The folder holding config.json and the safetensors (for the hub: the cached snapshot). */
  directory: string;
  /** For `hf:` sources: the repository, the revision asked for and the commit it resolved to. */
  hub?: { repo: string; revision: string; commit: string; fromCache: boolean };
}

/** The parts of `hf:Org/Name@revision`. */
export interface HubSpec {
  repo: string;
  revision: string;
}

const HUB_SPEC = /^hf:([A-Za-z0-9][\w.-]*\/[\w.-]+)(?:@([^\s@]+))?$/;
const COMMIT = /^[0-9a-f]{40}$/;
const OPTIONAL_FILES = ['generation_config.json', ...TOKENIZER_FILES];

/**
 * Parses `hf:Org/Name[@revision]` (revision default `main`); anything else is an error naming the spec.
 *
 * @example
 * parseHubSpec('hf:Qwen/Qwen3-0.6B@main'); // { repo: 'Qwen/Qwen3-0.6B', revision: 'main' }
 */
export function parseHubSpec(from: string): HubSpec {
  const match = HUB_SPEC.exec(from);
  if (!match || match[1]!.includes('..')) {
    throw new PosttrainError('MODEL_SOURCE_INVALID', `${JSON.stringify(from)} is not a hub model: write hf:Org/Name or hf:Org/Name@revision (a branch, tag or 40-hex commit)`, { path: 'from' });
  }
  return { repo: match[1]!, revision: match[2] ?? 'main' };
}

/**
 * A local folder path as is (checked to hold config.json), or `hf:Org/Name@revision` downloaded into (or found
 * in) the Hugging Face cache.
 *
 * @example
 * const { directory } = await resolveModelSource('hf:Qwen/Qwen3-0.6B');
 * const folder = readHfFolder(directory);
 */
export async function resolveModelSource(from: string, options: { env?: NodeJS.ProcessEnv } = {}): Promise<ModelSource> {
  if (!from.startsWith('hf:')) {
    const directory = resolve(from);
    readHfConfig(directory);
    return { directory };
  }
  const env = options.env ?? process.env;
  const spec = parseHubSpec(from);
  const storage = repoCacheDirectory(spec, env);
  if (isTrue(env.HF_HUB_OFFLINE)) return fromCache(spec, storage, 'HF_HUB_OFFLINE is set, so nothing is downloaded');
  const hubUrl = (env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
  const accessToken = env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined;
  if (accessToken !== undefined && !accessToken.startsWith('hf_')) {
    throw new PosttrainError('MODEL_HUB_TOKEN_INVALID', 'HF_TOKEN must be a Hugging Face access token (it starts with hf_)', { path: 'HF_TOKEN' });
  }
  let commit: string;
  let files: string[];
  try {
    const info = await modelInfo({ name: spec.repo, revision: spec.revision, hubUrl, accessToken, additionalFields: ['sha', 'filePaths'] });
    commit = info.sha;
    files = info.filePaths;
  } catch (error) {
    if (error instanceof HubApiError) throw hubError(spec, hubUrl, error);
    // The hub is unreachable (no network, DNS, refused): the cache may still have this revision.
    try {
      return fromCache(spec, storage, `${hubUrl} could not be reached (${(error as Error).message})`);
    } catch {
      throw new PosttrainError('MODEL_HUB_UNREACHABLE', `hf:${spec.repo}: ${hubUrl} could not be reached and the cache has no copy; set HF_ENDPOINT for a mirror or HF_HUB_OFFLINE=1 to use only the cache`, { path: 'from', cause: error });
    }
  }
  const wanted = filesToFetch(spec, files);
  if (spec.revision !== commit) {
    mkdirSync(join(storage, 'refs', dirname(spec.revision)), { recursive: true });
    writeFileSync(join(storage, 'refs', spec.revision), commit);
  }
  const download = (path: string) =>
    downloadFileToCacheDir({ repo: { type: 'model', name: spec.repo }, path, revision: commit, cacheDir: hubCacheDirectory(env), hubUrl, accessToken });
  await quietly(async () => {
    for (const path of wanted) await download(path);
    if (wanted.includes(INDEX_FILE)) {
      for (const shard of shardsOf(join(storage, 'snapshots', commit, INDEX_FILE))) await download(shard);
    }
  }).catch((error: unknown) => {
    if (error instanceof HubApiError) throw hubError(spec, hubUrl, error);
    // A connection lost mid-download, or an answer the package cannot read (a mirror missing the hub's headers).
    throw new PosttrainError('MODEL_HUB_FAILED', `hf:${spec.repo}@${spec.revision}: downloading from ${hubUrl} failed (${(error as Error).message}); run again to resume, files already in the cache are kept`, { path: 'from', cause: error });
  });
  return { directory: join(storage, 'snapshots', commit), hub: { repo: spec.repo, revision: spec.revision, commit, fromCache: false } };
}

/**
 * The folder of a model that needs no download: a local folder as is, or an `hf:` model already in the cache
 * (synchronous, for config parsing; `resolveModelSource` downloads). An `hf:` model the cache lacks is an error
 * that says `why` it was not fetched.
 *
 * @example
 * cachedModelDirectory('hf:Qwen/Qwen3-0.6B'); // '~/.cache/huggingface/hub/models--Qwen--Qwen3-0.6B/snapshots/<commit>'
 */
export function cachedModelDirectory(from: string, why = 'it has not been downloaded', env: NodeJS.ProcessEnv = process.env): string {
  if (!from.startsWith('hf:')) return resolve(from);
  const spec = parseHubSpec(from);
  return fromCache(spec, repoCacheDirectory(spec, env), why).directory;
}

/**
 * huggingface_hub's cache location: HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub.
 *
 * @example
 * hubCacheDirectory({ HF_HOME: '/data/hf' }); // '/data/hf/hub'
 */
export function hubCacheDirectory(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  return join(env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'huggingface'), 'hub');
}

/** A repository's folder in the hub cache (`models--Org--Name`, huggingface_hub's `repo_folder_name`). */
function repoCacheDirectory(spec: HubSpec, env: NodeJS.ProcessEnv): string {
  return join(hubCacheDirectory(env), `models--${spec.repo.replace('/', '--')}`);
}

/** The cached snapshot of a revision, checked to hold a config and every weight file. */
function fromCache(spec: HubSpec, storage: string, why: string): ModelSource {
  const refPath = join(storage, 'refs', spec.revision);
  const commit = COMMIT.test(spec.revision) ? spec.revision : existsSync(refPath) ? readFileSync(refPath, 'utf8').trim() : undefined;
  const snapshot = commit === undefined ? undefined : join(storage, 'snapshots', commit);
  const missing = snapshot === undefined ? [`refs/${spec.revision}`] : missingFromSnapshot(snapshot);
  if (missing.length > 0) {
    throw new PosttrainError('MODEL_NOT_CACHED', `hf:${spec.repo}@${spec.revision} is not in the cache (${storage} lacks ${missing.join(', ')}) and ${why}; fetch it once online (unset HF_HUB_OFFLINE) first`, { path: 'from' });
  }
  return { directory: snapshot!, hub: { repo: spec.repo, revision: spec.revision, commit: commit!, fromCache: true } };
}

function missingFromSnapshot(snapshot: string): string[] {
  const missing: string[] = [];
  if (!existsSync(join(snapshot, 'config.json'))) missing.push('config.json');
  if (existsSync(join(snapshot, SINGLE_FILE))) return missing;
  if (!existsSync(join(snapshot, INDEX_FILE))) return [...missing, SINGLE_FILE];
  return [...missing, ...shardsOf(join(snapshot, INDEX_FILE)).filter((shard) => !existsSync(join(snapshot, shard)))];
}

/** What a loader reads, among the repository's files: config, weights (single file or index), tokenizer. */
function filesToFetch(spec: HubSpec, files: string[]): string[] {
  const present = new Set(files);
  if (!present.has('config.json')) {
    throw new PosttrainError('MODEL_CONFIG_NOT_FOUND', `hf:${spec.repo}@${spec.revision} has no config.json: it is not a transformers model repository`, { path: 'from' });
  }
  const weights = present.has(SINGLE_FILE) ? SINGLE_FILE : present.has(INDEX_FILE) ? INDEX_FILE : undefined;
  if (weights === undefined) {
    throw new PosttrainError('MODEL_WEIGHTS_MISSING', `hf:${spec.repo}@${spec.revision} has neither ${SINGLE_FILE} nor ${INDEX_FILE} (only safetensors are read; pytorch_model.bin is not)`, { path: 'from' });
  }
  return ['config.json', weights, ...OPTIONAL_FILES.filter((file) => present.has(file))];
}

/** Shard file names listed by an index's `weight_map`. */
function shardsOf(indexPath: string): string[] {
  const index = JSON.parse(readFileSync(indexPath, 'utf8')) as { weight_map?: Record<string, string> };
  return [...new Set(Object.values(index.weight_map ?? {}))];
}

function hubError(spec: HubSpec, hubUrl: string, error: HubApiError): PosttrainError {
  const reason = error.statusCode === 401 || error.statusCode === 403
    ? 'access denied: the repository is private or gated; set HF_TOKEN to a token that may read it'
    : error.statusCode === 404
      ? `not found on ${hubUrl}: check the name and the revision (private repositories need HF_TOKEN)`
      : `the hub answered ${error.statusCode}`;
  return new PosttrainError(error.statusCode === 404 ? 'MODEL_REPO_NOT_FOUND' : 'MODEL_HUB_FAILED', `hf:${spec.repo}@${spec.revision}: ${reason} (${error.message})`, { path: 'from', cause: error });
}

/** huggingface_hub's truthy environment values. */
function isTrue(value: string | undefined): boolean {
  return value !== undefined && ['1', 'on', 'yes', 'true'].includes(value.toLowerCase());
}

/**
 * downloadFileToCacheDir logs "Downloading <file>" with console.debug, which goes to stdout and would corrupt
 * command output (`recipe model inspect --json`); it is held back while our downloads run.
 */
async function quietly<T>(work: () => Promise<T>): Promise<T> {
  const debug = console.debug;
  console.debug = () => {};
  try {
    return await work();
  } finally {
    console.debug = debug;
  }
}
