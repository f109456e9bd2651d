import { Client, Metadata, status as GrpcStatus, type ClientDuplexStream, type ClientReadableStream } from '@grpc/grpc-js';
import type { Channel, Listener, Transport } from '../../transport/transport.ts';
import { rootLogger } from '../../logging.ts';
import { channelCredentials, isLoopback } from './cluster-security.ts';
import { grpcTarget, parseGrpcAddress } from './grpc-address.ts';
import { GrpcChannel } from './grpc-channel.ts';
import { channelArguments, resolveGrpcOptions, type GrpcTransportOptions, type ResolvedGrpcOptions } from './grpc-options.ts';
import { withRetries } from './grpc-retry.ts';
import { GrpcServer } from './grpc-server.ts';
import { CHANNEL_SERVICE, OBJECT_SERVICE } from './grpc-services.ts';

const identity = (bytes: Buffer): Buffer => bytes;

/**
 * The transport between machines: `grpc:host:port`. A channel is one bidirectional gRPC stream carrying the
 * runtime's frames, so everything built on channels (RPC, actor calls, the head's protocol) works over it
 * unchanged; it passes the same conformance suite as the Unix-socket channel. Calls carry the bearer token, TLS
 * or mutual TLS is used when configured, and one HTTP/2 connection per peer address is shared by every channel to
 * it. `connect` retries UNAVAILABLE and DEADLINE_EXCEEDED with backoff (one attempt with `once`) and fails fast on
 * anything else, with a `GrpcCallError` that names the component.
 *
 * @example
 * const transport = new GrpcTransport({ security: loadClusterSecurity() });
 * registerTransport('grpc', () => transport);
 * const channel = await transport.connect('grpc:10.0.0.5:6380', 'head');
 */
export class GrpcTransport implements Transport {
  readonly scheme = 'grpc';
  readonly options: ResolvedGrpcOptions;
  private readonly clients = new Map<string, Client>();
  private readonly listeners = new Set<GrpcServer>();
  private warnedPlaintext = false;

  constructor(options: GrpcTransportOptions) {
    this.options = resolveGrpcOptions(options);
  }

  async listen(address: string, onChannel: (channel: Channel) => void): Promise<Listener> {
    const server = await GrpcServer.start(parseGrpcAddress(address), this.options, { onChannel }, 'listener');
    this.listeners.add(server);
    return {
      address: server.address,
      close: async () => {
        this.listeners.delete(server);
        await server.close();
      },
    };
  }

  /** Open a channel; `component` names the peer in errors (`head`, `node agent node-1`, `actor policy-0`). */
  connect(address: string, component = 'peer', options: { once?: boolean } = {}): Promise<Channel> {
    const target = parseGrpcAddress(address);
    return withRetries(() => this.openOnce(target, address, component), { component, address }, { timeoutMs: options.once ? 0 : this.options.connectTimeoutMs });
  }

  /** Start a server-streaming object fetch (the caller handles retries: it knows which statuses mean "lost"). */
  fetch(address: string, request: Buffer): ClientReadableStream<Buffer> {
    return this.client(address).makeServerStreamRequest(OBJECT_SERVICE.fetch.path, identity, identity, request, this.metadata());
  }

  /** Close every connection this transport opened and every server it started. */
  async close(): Promise<void> {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
    await Promise.all([...this.listeners].map((server) => server.close()));
    this.listeners.clear();
  }

  private openOnce(target: { host: string; port: number }, address: string, component: string): Promise<Channel> {
    const call: ClientDuplexStream<Buffer, Buffer> = this.client(address).makeBidiStreamRequest(CHANNEL_SERVICE.open.path, identity, identity, this.metadata());
    return new Promise((resolve, reject) => {
      // A partitioned peer never answers (TCP retries for minutes): one attempt is bounded, then retried.
      const timer = setTimeout(() => {
        call.cancel();
        reject({ code: GrpcStatus.DEADLINE_EXCEEDED, details: `no answer within ${this.options.attemptTimeoutMs} ms` });
      }, this.options.attemptTimeoutMs);
      call.once('metadata', () => {
        clearTimeout(timer);
        resolve(new GrpcChannel(call, 'client', this.options, `${component} at ${address}`));
      });
      call.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      this.warnIfPlaintext(target.host);
    });
  }

  private client(address: string): Client {
    const target = grpcTarget(parseGrpcAddress(address));
    let client = this.clients.get(target);
    if (!client) {
      client = new Client(target, channelCredentials(this.options.security), channelArguments(this.options));
      this.clients.set(target, client);
    }
    return client;
  }

  private metadata(): Metadata {
    const metadata = new Metadata();
    if (this.options.security.token !== undefined) metadata.set('authorization', `Bearer ${this.options.security.token}`);
    return metadata;
  }

  private warnIfPlaintext(host: string): void {
    if (this.warnedPlaintext || this.options.security.tls !== undefined || isLoopback(host)) return;
    this.warnedPlaintext = true;
    (this.options.logger ?? rootLogger()).warn({ host }, 'cluster traffic to other machines is not encrypted (the token travels in clear): configure TLS on untrusted networks');
  }
}
