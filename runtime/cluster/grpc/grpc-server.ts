import { Metadata, Server, status as GrpcStatus, type ServerDuplexStream, type ServerWritableStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { rootLogger } from '../../logging.ts';
import type { Channel } from '../../transport/transport.ts';
import { checkBindAllowed, serverCredentials, tokenMatches } from './cluster-security.ts';
import { formatGrpcAddress, grpcTarget, type GrpcAddress } from './grpc-address.ts';
import { GrpcChannel } from './grpc-channel.ts';
import { channelArguments, type ResolvedGrpcOptions } from './grpc-options.ts';
import { CHANNEL_SERVICE, OBJECT_SERVICE } from './grpc-services.ts';

export interface GrpcServerHandlers {
  /** A peer opened a channel (after its token was checked). */
  onChannel?(channel: Channel, peer: string): void;
  /** A peer asked for an object (after its token was checked). */
  onFetch?(request: Buffer, call: ServerWritableStream<Buffer, Buffer>): void;
}

/**
 * A gRPC server of a cluster process (head, node agent, worker, driver). Every call must carry the cluster's
 * bearer token (`authorization: Bearer <token>`); a call without it, or with a wrong one, ends with
 * UNAUTHENTICATED and a warning naming the peer's address. Listening on a non-loopback address without a token is
 * refused before anything binds.
 *
 * @example
 * const server = await GrpcServer.start({ host: '10.0.0.5', port: 0 }, options, { onChannel: (channel) => serve(channel) }, 'node agent');
 * server.address; // 'grpc:10.0.0.5:41235'
 */
export class GrpcServer {
  private constructor(
    private readonly server: Server,
    readonly address: string,
  ) {}

  static async start(bind: GrpcAddress, options: ResolvedGrpcOptions, handlers: GrpcServerHandlers, what: string): Promise<GrpcServer> {
    checkBindAllowed(bind.host, options.security, what);
    const logger = (options.logger ?? rootLogger()).child({ component: 'grpc', server: what });
    const server = new Server(channelArguments(options));
    const authorized = (call: { metadata: Metadata; getPeer(): string; emit(event: 'error', error: unknown): boolean }, method: string): boolean => {
      const header = call.metadata.get('authorization')[0];
      if (tokenMatches(options.security.token, header)) return true;
      const reason = header === undefined ? 'no token' : 'a wrong token';
      logger.warn({ peer: call.getPeer(), method, reason }, `refused a gRPC call to ${method} from ${call.getPeer()}: ${reason}`);
      call.emit('error', { code: GrpcStatus.UNAUTHENTICATED, details: `${what} requires the cluster token; the call carried ${reason}` });
      return false;
    };
    if (handlers.onChannel) {
      const onChannel = handlers.onChannel;
      server.addService(CHANNEL_SERVICE, {
        open: (call: ServerDuplexStream<Buffer, Buffer>) => {
          if (!authorized(call, 'Channel/Open')) return;
          // Headers at once: the client's connect resolves only when the server has accepted the call.
          call.sendMetadata(new Metadata());
          const peer = call.getPeer();
          onChannel(new GrpcChannel(call, 'server', options, peer), peer);
        },
      });
    }
    if (handlers.onFetch) {
      const onFetch = handlers.onFetch;
      server.addService(OBJECT_SERVICE, {
        fetch: (call: ServerWritableStream<Buffer, Buffer>) => {
          if (!authorized(call, 'Objects/Fetch')) return;
          onFetch(call.request, call);
        },
      });
    }
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(grpcTarget(bind), serverCredentials(options.security), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    return new GrpcServer(server, formatGrpcAddress(bind.host, port));
  }

  /** Stop at once: open calls are cancelled (peers see UNAVAILABLE or CANCELLED). */
  async close(): Promise<void> {
    this.server.forceShutdown();
  }
}
