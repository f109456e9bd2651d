/**
 * A real S3-speaking server on loopback for tests and benchmarks: s3rver (objects on local disk), path-style,
 * any credentials. `stop()` drops every open connection at once, the way a crashed or unreachable server looks to
 * a client; `restart()` brings it back on the same port with the same objects.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import type { S3StoreOptions } from '../../../runtime/checkpoint/s3-store.ts';

export class LoopbackS3Server {
  /** Method and URL of every request served (to see e.g. that multipart upload was used). */
  readonly requests: string[] = [];
  private server: S3rver | undefined;

  private constructor(
    readonly bucket: string,
    readonly directory: string,
    public port: number,
  ) {}

  static async start(options: { bucket?: string; directory?: string } = {}): Promise<LoopbackS3Server> {
    const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 'posttrain-s3rver-')));
    const server = new LoopbackS3Server(options.bucket ?? 'checkpoints', directory, 0);
    await server.restart();
    return server;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Options for `S3CheckpointStore` / `openCheckpointStore` pointing at this server. */
  storeOptions(extra: S3StoreOptions = {}): S3StoreOptions {
    return {
      endpoint: this.endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      ...extra,
    };
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  /** Starts (again) on the same port; objects written before a stop are still there. */
  async restart(): Promise<void> {
    if (this.server) return;
    const server = new S3rver({
      address: '127.0.0.1',
      port: this.port,
      silent: true,
      directory: this.directory,
      configureBuckets: [{ name: this.bucket }],
    });
    const address: AddressInfo = await server.run();
    this.port = address.port;
    server.httpServer?.on('request', (request) => this.requests.push(`${request.method} ${request.url}`));
    this.server = server;
  }

  /** Stops listening and cuts every open connection, in-flight requests included. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = server.close();
    server.httpServer?.closeAllConnections();
    await closed;
  }

  /** Stops and deletes the server's directory. */
  async dispose(): Promise<void> {
    await this.stop();
    await rm(this.directory, { recursive: true, force: true });
  }
}
