import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { ServerCredentials, credentials, type ChannelCredentials } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { ClusterSecurityError } from '../cluster-errors.ts';

/** Certificate files for TLS: this process's identity (`certFile` + `keyFile`) and the CA that signs its peers. */
export interface TlsFiles {
  /** PEM certificate chain presented by this process (as a server, and as a client under mutual TLS). */
  certFile?: string;
  keyFile?: string;
  /** PEM CA bundle used to verify peers. */
  caFile?: string;
  /** Mutual TLS: servers refuse clients without a certificate signed by `caFile`. */
  requireClientCertificate?: boolean;
}

/** Where the bearer token and TLS files come from. Unset fields fall back to the environment (see `loadClusterSecurity`). */
export interface ClusterSecurityOptions {
  token?: string;
  tokenFile?: string;
  tls?: TlsFiles;
}

/** The loaded security settings of one process: the token every call carries, and TLS material if configured. */
export interface ClusterSecurity {
  token: string | undefined;
  tls: { cert: Buffer; key: Buffer; ca: Buffer | undefined; requireClientCertificate: boolean } | undefined;
}

/** The shortest token accepted: long enough that guessing is hopeless (`openssl rand -hex 32` gives 64). */
export const MINIMUM_TOKEN_LENGTH = 16;

/**
 * Load the token and TLS material. Precedence: explicit options, then `POSTTRAIN_TOKEN`, then the file named by
 * `POSTTRAIN_TOKEN_FILE`; TLS from `POSTTRAIN_TLS_CERT`, `POSTTRAIN_TLS_KEY`, `POSTTRAIN_TLS_CA` and
 * `POSTTRAIN_TLS_CLIENT_AUTH=1`. Bad settings fail here, naming the setting, before anything listens.
 *
 * @example
 * const security = loadClusterSecurity({ tokenFile: '/etc/posttrain/token' });
 */
export function loadClusterSecurity(options: ClusterSecurityOptions = {}, env: NodeJS.ProcessEnv = process.env, logger?: Logger): ClusterSecurity {
  const tokenFile = options.tokenFile ?? (options.token === undefined && env.POSTTRAIN_TOKEN === undefined ? env.POSTTRAIN_TOKEN_FILE : undefined);
  let token = options.token ?? env.POSTTRAIN_TOKEN;
  if (tokenFile !== undefined && options.token === undefined) token = readTokenFile(tokenFile, logger);
  if (token !== undefined) checkToken(token, tokenFile ?? (options.token !== undefined ? 'token' : 'POSTTRAIN_TOKEN'));
  const files: TlsFiles = {
    ...(env.POSTTRAIN_TLS_CERT === undefined ? {} : { certFile: env.POSTTRAIN_TLS_CERT }),
    ...(env.POSTTRAIN_TLS_KEY === undefined ? {} : { keyFile: env.POSTTRAIN_TLS_KEY }),
    ...(env.POSTTRAIN_TLS_CA === undefined ? {} : { caFile: env.POSTTRAIN_TLS_CA }),
    ...(env.POSTTRAIN_TLS_CLIENT_AUTH === '1' ? { requireClientCertificate: true } : {}),
    ...options.tls,
  };
  return { token, tls: loadTls(files) };
}

function readTokenFile(path: string, logger: Logger | undefined): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ClusterSecurityError('TOKEN_INVALID', `cannot read the token file ${path}: ${(error as Error).message}`, 'tokenFile');
  }
  try {
    // A token readable by other users is a shared secret no longer (ssh refuses such key files for the same reason).
    if ((statSync(path).mode & 0o077) !== 0) logger?.warn({ tokenFile: path }, `token file ${path} is readable by other users: chmod 600 it`);
  } catch {
    // Mode check is advice only.
  }
  return text.trim();
}

function checkToken(token: string, source: string): void {
  if (token.length < MINIMUM_TOKEN_LENGTH || /\s/.test(token)) {
    throw new ClusterSecurityError(
      'TOKEN_INVALID',
      `the cluster token from ${source} must be at least ${MINIMUM_TOKEN_LENGTH} characters without spaces (got ${token.length}); make one with: openssl rand -hex 32`,
      'token',
    );
  }
}

function loadTls(files: TlsFiles): ClusterSecurity['tls'] {
  const { certFile, keyFile, caFile } = files;
  if (certFile === undefined && keyFile === undefined && caFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    throw new ClusterSecurityError('TLS_CONFIG_INVALID', `TLS needs both a certificate and its key (certFile: ${certFile ?? 'missing'}, keyFile: ${keyFile ?? 'missing'})`, certFile === undefined ? 'tls.certFile' : 'tls.keyFile');
  }
  if (files.requireClientCertificate && caFile === undefined) {
    throw new ClusterSecurityError('TLS_CONFIG_INVALID', 'mutual TLS (requireClientCertificate) needs caFile to verify client certificates', 'tls.caFile');
  }
  const read = (path: string, field: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new ClusterSecurityError('TLS_CONFIG_INVALID', `cannot read ${field} ${path}: ${(error as Error).message}`, `tls.${field}`);
    }
  };
  return {
    cert: read(certFile, 'certFile'),
    key: read(keyFile, 'keyFile'),
    ca: caFile === undefined ? undefined : read(caFile, 'caFile'),
    requireClientCertificate: files.requireClientCertificate ?? false,
  };
}

/** `127.0.0.0/8`, `::1` and `localhost`: addresses no other machine can reach. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

/**
 * Refuse to listen where other machines can reach us without a token: Ray's unauthenticated job API on a public
 * address became remote code execution (CVE-2023-48022, ShadowRay).
 */
export function checkBindAllowed(host: string, security: ClusterSecurity, what: string): void {
  if (security.token !== undefined || isLoopback(host)) return;
  throw new ClusterSecurityError(
    'TOKEN_REQUIRED',
    `${what} refuses to listen on ${host} without a token: anyone who reaches this address could run code. ` +
      'Set POSTTRAIN_TOKEN (or POSTTRAIN_TOKEN_FILE / --token-file) to the same secret on every process of the cluster ' +
      '(make one with: openssl rand -hex 32), or listen on 127.0.0.1 for a single machine.',
    'token',
  );
}

/** Constant-time check of an `authorization: Bearer <token>` header value. */
export function tokenMatches(expected: string | undefined, header: unknown): boolean {
  if (expected === undefined) return true;
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return false;
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(header.slice('Bearer '.length)), digest(expected));
}

export function serverCredentials(security: ClusterSecurity): ServerCredentials {
  const tls = security.tls;
  if (!tls) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(tls.ca ?? null, [{ cert_chain: tls.cert, private_key: tls.key }], tls.requireClientCertificate);
}

export function channelCredentials(security: ClusterSecurity): ChannelCredentials {
  const tls = security.tls;
  if (!tls) return credentials.createInsecure();
  // The client presents its own certificate too, so that mutual-TLS servers accept it.
  return credentials.createSsl(tls.ca ?? null, tls.key, tls.cert);
}
