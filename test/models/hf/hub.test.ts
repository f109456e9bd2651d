/**
 * resolveModelSource downloads `hf:Org/Name@revision` with @huggingface/hub into the standard Hugging Face cache
 * layout and works from that cache offline. The hub here is a loopback HTTP server (test/models/hf/loopback-hub.ts)
 * serving fixture folders in the hub's URL layout: nothing can be downloaded from huggingface.co in tests.
 */
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readHfFolder } from '../../../models/hf/hf-folder.ts';
import { hubCacheDirectory, parseHubSpec, resolveModelSource } from '../../../models/hf/hub.ts';
import { startLoopbackHub, type LoopbackHub } from './loopback-hub.ts';

const FIXTURES = join(import.meta.dirname, '../../../../shared/fixtures/hf');
const QWEN_COMMIT = 'a'.repeat(40);
const SHARDED_COMMIT = '0123456789abcdef0123456789abcdef01234567';
const home = mkdtempSync(join(tmpdir(), 'hf-home-'));
let hub: LoopbackHub;
const broken = new Set(['model.safetensors']);

beforeAll(async () => {
  hub = await startLoopbackHub({
    'tiny/qwen2': { folder: join(FIXTURES, 'qwen2'), commit: QWEN_COMMIT, revisions: ['main'] },
    'tiny/sharded': { folder: join(FIXTURES, 'llama-sharded'), commit: SHARDED_COMMIT, revisions: ['main', 'v1'] },
    'tiny/flaky': { folder: join(FIXTURES, 'gpt2'), commit: 'd'.repeat(40), revisions: ['main'], broken },
    'tiny/private': { folder: join(FIXTURES, 'llama-tied'), commit: 'b'.repeat(40), revisions: ['main'], token: 'hf_secret' },
  });
});
afterAll(async () => {
  await hub.close().catch(() => {});
  rmSync(home, { recursive: true, force: true });
});

const online = () => ({ HF_HOME: home, HF_ENDPOINT: hub.url });

describe('resolveModelSource from the hub (loopback server)', () => {
  it('downloads a single-file model into models--Org--Name/{blobs,snapshots,refs}', async () => {
    const source = await resolveModelSource('hf:tiny/qwen2', { env: online() });
    const storage = join(home, 'hub', 'models--tiny--qwen2');
    expect(source.directory).toBe(join(storage, 'snapshots', QWEN_COMMIT));
    expect(source.hub).toEqual({ repo: 'tiny/qwen2', revision: 'main', commit: QWEN_COMMIT, fromCache: false });
    expect(readFileSync(join(storage, 'refs', 'main'), 'utf8')).toBe(QWEN_COMMIT);
    // Only what a loader reads: not expected.json.
    expect(readdirSync(source.directory).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors']);
    expect(lstatSync(join(source.directory, 'model.safetensors')).isSymbolicLink()).toBe(true);
    expect(realpathSync(join(source.directory, 'model.safetensors')).startsWith(realpathSync(join(storage, 'blobs')))).toBe(true);
    const fromHub = readHfFolder(source.directory);
    const original = readHfFolder(join(FIXTURES, 'qwen2'));
    expect(fromHub.config).toEqual(original.config);
    expect(fromHub.tensors.get('model.embed_tokens.weight')!.data).toEqual(original.tensors.get('model.embed_tokens.weight')!.data);
  });

  it('downloads the index and every shard of a sharded model at a named revision', async () => {
    const source = await resolveModelSource('hf:tiny/sharded@v1', { env: online() });
    expect(source.directory).toBe(join(home, 'hub', 'models--tiny--sharded', 'snapshots', SHARDED_COMMIT));
    expect(readFileSync(join(home, 'hub', 'models--tiny--sharded', 'refs', 'v1'), 'utf8')).toBe(SHARDED_COMMIT);
    expect(readHfFolder(source.directory).tensors.size).toBe(readHfFolder(join(FIXTURES, 'llama-sharded')).tensors.size);
  });

  it('sends HF_TOKEN to a private repository and explains a refusal without it', async () => {
    await expect(resolveModelSource('hf:tiny/private', { env: online() })).rejects.toThrow(/hf:tiny\/private@main: access denied.*set HF_TOKEN/);
    const source = await resolveModelSource('hf:tiny/private', { env: { ...online(), HF_TOKEN: 'hf_secret' } });
    expect(existsSync(join(source.directory, 'model.safetensors'))).toBe(true);
  });

  it('names a repository or revision that does not exist', async () => {
    await expect(resolveModelSource('hf:tiny/nope', { env: online() })).rejects.toThrow(/hf:tiny\/nope@main: not found on http:\/\/127\.0\.0\.1:\d+/);
    await expect(resolveModelSource('hf:tiny/qwen2@v9', { env: online() })).rejects.toThrow(/hf:tiny\/qwen2@v9: not found/);
  });

  it('says which repository failed when the hub errors mid-download, and a retry completes it', async () => {
    await expect(resolveModelSource('hf:tiny/flaky', { env: online() })).rejects.toThrow(/hf:tiny\/flaky@main: the hub answered 500/);
    broken.clear();
    const source = await resolveModelSource('hf:tiny/flaky', { env: online() });
    expect(readHfFolder(source.directory).tensors.size).toBe(readHfFolder(join(FIXTURES, 'gpt2')).tensors.size);
  });

  it('works from the cache with HF_HUB_OFFLINE=1 and the server stopped, and says what is not cached', async () => {
    const before = hub.requests.length;
    await hub.close();
    const offline = { HF_HOME: home, HF_ENDPOINT: hub.url, HF_HUB_OFFLINE: '1' };
    const qwen = await resolveModelSource('hf:tiny/qwen2@main', { env: offline });
    expect(qwen).toEqual({ directory: join(home, 'hub', 'models--tiny--qwen2', 'snapshots', QWEN_COMMIT), hub: { repo: 'tiny/qwen2', revision: 'main', commit: QWEN_COMMIT, fromCache: true } });
    expect(readHfFolder(qwen.directory).tensors.size).toBe(readHfFolder(join(FIXTURES, 'qwen2')).tensors.size);
    expect((await resolveModelSource(`hf:tiny/sharded@${SHARDED_COMMIT}`, { env: offline })).hub!.commit).toBe(SHARDED_COMMIT);
    await expect(resolveModelSource('hf:tiny/llama', { env: offline })).rejects.toThrow(/hf:tiny\/llama@main is not in the cache .*HF_HUB_OFFLINE is set/);
    // Without the flag, an unreachable hub falls back to the cache too.
    expect((await resolveModelSource('hf:tiny/sharded@v1', { env: online() })).hub!.fromCache).toBe(true);
    await expect(resolveModelSource('hf:tiny/llama', { env: online() })).rejects.toThrow(/could not be reached and the cache has no copy/);
    expect(hub.requests.length).toBe(before);
  });
});

describe('model sources', () => {
  it('parses hf: specs and rejects malformed ones, naming them', () => {
    expect(parseHubSpec('hf:Qwen/Qwen3-0.6B')).toEqual({ repo: 'Qwen/Qwen3-0.6B', revision: 'main' });
    expect(parseHubSpec('hf:meta-llama/Llama-3.2-1B@v1.0')).toEqual({ repo: 'meta-llama/Llama-3.2-1B', revision: 'v1.0' });
    for (const bad of ['hf:', 'hf:gpt2', 'hf:a/b/c', 'hf:a/b@', 'hf:../x/y']) expect(() => parseHubSpec(bad)).toThrow(/is not a hub model: write hf:Org\/Name/);
  });

  it('takes a local folder as is and names a missing one', async () => {
    expect(await resolveModelSource(join(FIXTURES, 'gpt2'))).toEqual({ directory: join(FIXTURES, 'gpt2') });
    await expect(resolveModelSource(join(home, 'missing'))).rejects.toThrow(/no model folder at .*missing/);
  });

  it('finds the cache where huggingface_hub does', () => {
    expect(hubCacheDirectory({ HF_HOME: '/h' })).toBe('/h/hub');
    expect(hubCacheDirectory({ HF_HOME: '/h', HF_HUB_CACHE: '/c' })).toBe('/c');
    expect(hubCacheDirectory({ XDG_CACHE_HOME: '/x' })).toBe('/x/huggingface/hub');
  });
});
