/**
 * A stand-in for the Hugging Face Hub on 127.0.0.1 (node:http): it serves local folders in the hub's URL layout
 * with the answers `@huggingface/hub` reads, so the download path can be tested with no network.
 *
 *   GET  /api/models/<org>/<name>/revision/<rev>     model info: `sha` (the commit), `siblings` (file list)
 *   POST /api/models/<org>/<name>/paths-info/<rev>   per file: oid (git blob sha1), size, lfs.oid (sha256), last commit
 *   GET  /<org>/<name>/resolve/<rev>/<file>          the bytes (Range: bytes=a-b answered 206), ETag, X-Repo-Commit
 *
 * Unknown repositories answer 404 with X-Error-Code RepoNotFound; a repository marked private answers 401 unless
 * the request carries its bearer token. Every request is recorded.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface LoopbackRepo {
  /** The folder whose files the repository holds. */
  folder: string;
  /** The 40-hex commit every revision of it resolves to. */
  commit: string;
  /** The revisions (branches, tags) that exist; the commit itself always does. */
  revisions: string[];
  /** When set, requests must carry `Authorization: Bearer <token>`. */
  token?: string;
  /** Files whose download answers 500 (a failing hub); the set can be emptied to let a retry succeed. */
  broken?: Set<string>;
}

export interface LoopbackHub {
  url: string;
  /** `METHOD path` of every request, in order. */
  requests: string[];
  close(): Promise<void>;
}

export async function startLoopbackHub(repos: Record<string, LoopbackRepo>): Promise<LoopbackHub> {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => answer(repos, request, response, body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function answer(repos: Record<string, LoopbackRepo>, request: IncomingMessage, response: ServerResponse, body: string): void {
  const url = new URL(request.url!, 'http://hub');
  const api = /^\/api\/models\/([^/]+\/[^/]+)\/(revision|paths-info)\/([^/]+)$/.exec(url.pathname);
  const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
  const [repoName, revision] = api ? [api[1]!, decodeURIComponent(api[3]!)] : resolve ? [resolve[1]!, decodeURIComponent(resolve[2]!)] : [];
  const repo = repoName === undefined ? undefined : repos[repoName];
  if (!repo) return error(response, 404, 'RepoNotFound', 'Repository not found');
  if (repo.token !== undefined && request.headers.authorization !== `Bearer ${repo.token}`) return error(response, 401, 'GatedRepo', 'Invalid credentials');
  if (revision !== repo.commit && !repo.revisions.includes(revision!)) return error(response, 404, 'RevisionNotFound', `Invalid rev id: ${revision}`);
  const files = readdirSync(repo.folder).filter((file) => statSync(join(repo.folder, file)).isFile());

  if (api?.[2] === 'revision') {
    return json(response, {
      _id: repoName, id: repoName, sha: repo.commit, private: repo.token !== undefined, gated: false, downloads: 0, likes: 0,
      lastModified: '2026-01-01T00:00:00.000Z', siblings: files.map((rfilename) => ({ rfilename })),
    });
  }
  if (api?.[2] === 'paths-info') {
    const { paths } = JSON.parse(body) as { paths: string[] };
    return json(response, paths.filter((path) => files.includes(path)).map((path) => {
      const bytes = readFileSync(join(repo.folder, path));
      const gitOid = createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
      const lfs = path.endsWith('.safetensors') ? { oid: createHash('sha256').update(bytes).digest('hex'), size: bytes.length, pointerSize: 134 } : undefined;
      return { type: 'file', path, oid: gitOid, size: bytes.length, lfs, lastCommit: { id: repo.commit, title: 'upload', date: '2026-01-01T00:00:00.000Z' } };
    }));
  }
  const path = resolve![3]!;
  if (!files.includes(path)) return error(response, 404, 'EntryNotFound', `${path} does not exist`);
  if (repo.broken?.has(path)) return error(response, 500, 'InternalError', 'Internal Error');
  const bytes = readFileSync(join(repo.folder, path));
  const headers = { ETag: `"${createHash('sha256').update(bytes).digest('hex')}"`, 'X-Repo-Commit': repo.commit, 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream' };
  const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
  if (range) {
    const start = Number(range[1]);
    const end = range[2] ? Math.min(Number(range[2]), bytes.length - 1) : bytes.length - 1;
    response.writeHead(206, { ...headers, 'Content-Range': `bytes ${start}-${end}/${bytes.length}`, 'Content-Length': end - start + 1 });
    return void response.end(request.method === 'HEAD' ? undefined : bytes.subarray(start, end + 1));
  }
  response.writeHead(200, { ...headers, 'Content-Length': bytes.length });
  response.end(request.method === 'HEAD' ? undefined : bytes);
}

function json(response: ServerResponse, value: unknown): void {
  response.writeHead(200, { 'Content-Type': 'application/json' });
  response.end(JSON.stringify(value));
}

function error(response: ServerResponse, status: number, code: string, message: string): void {
  response.writeHead(status, { 'Content-Type': 'application/json', 'X-Error-Code': code });
  response.end(JSON.stringify({ error: message }));
}
