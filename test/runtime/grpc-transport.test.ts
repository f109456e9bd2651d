import { Client, Metadata, credentials, status as GrpcStatus } from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { ClusterSecurityError, GrpcCallError } from '../../runtime/cluster/cluster-errors.ts';
import { loadClusterSecurity, type ClusterSecurity } from '../../runtime/cluster/grpc/cluster-security.ts';
import { GrpcTransport } from '../../runtime/cluster/grpc/grpc-transport.ts';
import { CHANNEL_SERVICE } from '../../runtime/cluster/grpc/grpc-services.ts';
import { RpcConnection } from '../../runtime/transport/rpc.ts';
import type { Channel } from '../../runtime/transport/transport.ts';
import { makeTestCertificates } from './certificates.ts';
import { capturingLogger } from './helpers.ts';
import { transportConformance } from './transport-conformance.ts';

const TOKEN = 'test-token-0123456789abcdef';
const certificates = makeTestCertificates();
afterAll(() => certificates.remove());

const tls = { certFile: certificates.certFile, keyFile: certificates.keyFile, caFile: certificates.caFile };
const plain: ClusterSecurity = { token: undefined, tls: undefined };
const withToken = loadClusterSecurity({ token: TOKEN }, {});
const withMutualTls = loadClusterSecurity({ token: TOKEN, tls: { ...tls, requireClientCertificate: true } }, {});
const fast = { connectTimeoutMs: 1_500, attemptTimeoutMs: 500 };

transportConformance('grpc, loopback without token', () => new GrpcTransport({ security: plain }), () => 'grpc:127.0.0.1:0');
transportConformance('grpc, token and mutual TLS', () => new GrpcTransport({ security: withMutualTls, messageBytes: 256 * 1024 }), () => 'grpc:127.0.0.1:0');

/** A server that echoes every frame back, and a way to stop it. */
async function echoServer(transport: GrpcTransport): Promise<{ address: string; close: () => Promise<void> }> {
  const listener = await transport.listen('grpc:127.0.0.1:0', (channel) => new RpcConnection(channel, { onRequest: (frame, respond) => respond.ok(frame.body) }));
  return { address: listener.address, close: () => listener.close() };
}

async function roundTrip(channel: Channel): Promise<string> {
  const reply = await new RpcConnection(channel).request('echo', '"still serving"');
  channel.close();
  return reply.body;
}

/** A raw gRPC client for sending what a well-behaved peer never would. */
function rawOpen(address: string, token: string | undefined, messages: Buffer[]): Promise<{ code: number; details: string }> {
  const client = new Client(address.slice('grpc:'.length), credentials.createInsecure(), { 'grpc.max_send_message_length': -1 });
  const metadata = new Metadata();
  if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
  const identity = (bytes: Buffer) => bytes;
  const call = client.makeBidiStreamRequest(CHANNEL_SERVICE.open.path, identity, identity, metadata);
  return new Promise((resolve) => {
    call.on('data', () => {});
    call.on('status', (status) => {
      client.close();
      resolve({ code: status.code, details: status.details });
    });
    call.on('error', () => {});
    for (const message of messages) call.write(message);
  });
}

describe('grpc transport security', () => {
  it('refuses calls without the token or with a wrong one (UNAUTHENTICATED, no retries), logs the peer, and keeps serving', async () => {
    const { logger, lines } = capturingLogger();
    const server = new GrpcTransport({ security: withToken, logger });
    const { address, close } = await echoServer(server);
    for (const [security, reason] of [[plain, 'no token'], [loadClusterSecurity({ token: 'a-wrong-token-0123456789' }, {}), 'a wrong token']] as const) {
      const error = await new GrpcTransport({ security, ...fast }).connect(address, 'head').catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(GrpcCallError);
      expect(error).toMatchObject({ code: 'GRPC_UNAUTHENTICATED', status: GrpcStatus.UNAUTHENTICATED, component: 'head' });
      expect((error as Error).message).toMatch(new RegExp(`head at ${address} failed: UNAUTHENTICATED: .*carried ${reason}`));
      // No retries: the server saw (and logged) exactly one refused call from this client.
      expect(lines.filter((line) => line.reason === reason)).toHaveLength(1);
      expect(lines.find((line) => line.reason === reason)).toMatchObject({ peer: expect.stringMatching(/^(ipv4:)?127\.0\.0\.1:\d+$/), method: 'Channel/Open' });
    }
    expect(await roundTrip(await new GrpcTransport({ security: withToken }).connect(address))).toBe('"still serving"');
    await close();
  });

  it('refuses to listen on a non-loopback address without a token', async () => {
    const error = await new GrpcTransport({ security: plain }).listen('grpc:0.0.0.0:0', () => {}).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ClusterSecurityError);
    expect((error as ClusterSecurityError).code).toBe('TOKEN_REQUIRED');
    expect((error as Error).message).toMatch(/refuses to listen on 0\.0\.0\.0 without a token.*POSTTRAIN_TOKEN/);
    const listener = await new GrpcTransport({ security: withToken }).listen('grpc:0.0.0.0:0', () => {});
    await listener.close();
  });

  it('rejects short tokens and half-configured TLS by field', () => {
    expect(() => loadClusterSecurity({ token: 'short' }, {})).toThrow(/at least 16 characters/);
    expect(() => loadClusterSecurity({ tls: { certFile: certificates.certFile } }, {})).toThrow(/needs both a certificate and its key/);
    expect(() => loadClusterSecurity({ tls: { ...tls, caFile: undefined, requireClientCertificate: true } }, {})).toThrow(/needs caFile/);
    expect(loadClusterSecurity({}, { POSTTRAIN_TOKEN: TOKEN }).token).toBe(TOKEN);
  });

  it('under mutual TLS refuses a client without a certificate, or with one from another CA', async () => {
    const server = new GrpcTransport({ security: withMutualTls });
    const { address, close } = await echoServer(server);
    const noCertificate = loadClusterSecurity({ token: TOKEN }, {});
    const error = await new GrpcTransport({ security: noCertificate, ...fast }).connect(address, 'head').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'GRPC_UNAVAILABLE' });
    const stranger = loadClusterSecurity({ token: TOKEN, tls: { certFile: certificates.strangerCertFile, keyFile: certificates.strangerKeyFile, caFile: certificates.caFile } }, {});
    await expect(new GrpcTransport({ security: stranger, ...fast }).connect(address, 'head')).rejects.toMatchObject({ code: 'GRPC_UNAVAILABLE' });
    expect(await roundTrip(await new GrpcTransport({ security: withMutualTls }).connect(address))).toBe('"still serving"');
    await close();
  });

  it('answers garbage, oversized messages and oversized frames with a status and keeps serving', async () => {
    const server = new GrpcTransport({ security: withToken, messageBytes: 64 * 1024, maxFrameBytes: 1024 * 1024 });
    const { address, close } = await echoServer(server);
    const garbage = await rawOpen(address, TOKEN, [Buffer.from([8, 0, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9])]);
    expect(garbage.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(garbage.details).toMatch(/shorter than a header/);
    const oversizedMessage = await rawOpen(address, TOKEN, [Buffer.alloc(200 * 1024)]);
    expect(oversizedMessage.code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    const declaredTooLarge = Buffer.alloc(64);
    declaredTooLarge.writeUInt32LE(64 * 1024 * 1024, 0);
    const oversizedFrame = await rawOpen(address, TOKEN, [declaredTooLarge]);
    expect(oversizedFrame.code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    expect(oversizedFrame.details).toMatch(/limit 1048576/);
    expect((await rawOpen(address, undefined, [Buffer.from('garbage')])).code).toBe(GrpcStatus.UNAUTHENTICATED);
    expect(await roundTrip(await new GrpcTransport({ security: withToken }).connect(address))).toBe('"still serving"');
    await close();
  });

  it('retries UNAVAILABLE with backoff until the peer comes up, and names the component when it never does', async () => {
    const probe = new GrpcTransport({ security: plain });
    const { address, close } = await echoServer(probe);
    await close();
    const error = await new GrpcTransport({ security: plain, ...fast }).connect(address, 'node agent node-1').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'GRPC_UNAVAILABLE', component: 'node agent node-1' });
    expect((error as Error).message).toMatch(/node agent node-1 at grpc:127\.0\.0\.1:\d+ failed after [2-9]\d* attempts: UNAVAILABLE/);
    const port = Number(address.split(':').pop());
    const late = new GrpcTransport({ security: plain });
    const connecting = new GrpcTransport({ security: plain, connectTimeoutMs: 10_000 }).connect(address, 'head');
    await new Promise((resolve) => setTimeout(resolve, 400));
    const listener = await late.listen(`grpc:127.0.0.1:${port}`, (channel) => new RpcConnection(channel, { onRequest: (frame, respond) => respond.ok(frame.body) }));
    expect(await roundTrip(await connecting)).toBe('"still serving"');
    await listener.close();
  });
});
