/**
 * A local stand-in for a cloud's instance-metadata service, speaking AWS's spot `instance-action` format: 404
 * until a notice is served, then 200 with `{"action", "time"}`. With `requireToken` it enforces IMDSv2 (401
 * without the session token that `PUT /latest/api/token` hands out), as instances configured that way do.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const INSTANCE_ACTION_PATH = '/latest/meta-data/spot/instance-action';

export class FakeMetadataServer {
  /** `METHOD path` of every request served. */
  readonly requests: string[] = [];
  private notice: { action: string; time: string } | undefined;
  private readonly token = `token-${Math.random().toString(36).slice(2)}`;

  private constructor(
    private readonly server: Server,
    readonly requireToken: boolean,
  ) {}

  static async start(options: { requireToken?: boolean } = {}): Promise<FakeMetadataServer> {
    let fake: FakeMetadataServer | undefined;
    const server = createServer((request, response) => fake!.handle(request.method ?? 'GET', request.url ?? '/', request.headers, response));
    fake = new FakeMetadataServer(server, options.requireToken ?? false);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  /** The URL to poll (`checkpoint.spotNoticeUrl`). */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${INSTANCE_ACTION_PATH}`;
  }

  /** From now on, answer with this notice (AWS gives two minutes' warning). */
  serveNotice(action = 'terminate', time = new Date(Date.now() + 120_000).toISOString()): void {
    this.notice = { action, time };
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(method: string, url: string, headers: Record<string, unknown>, response: import('node:http').ServerResponse): void {
    this.requests.push(`${method} ${url}`);
    if (method === 'PUT' && url === '/latest/api/token') {
      response.writeHead(200, { 'content-type': 'text/plain' }).end(this.token);
      return;
    }
    if (this.requireToken && headers['x-aws-ec2-metadata-token'] !== this.token) {
      response.writeHead(401).end();
      return;
    }
    if (method !== 'GET' || url !== INSTANCE_ACTION_PATH || !this.notice) {
      response.writeHead(404, { 'content-type': 'text/html' }).end('<html>404 - Not Found</html>');
      return;
    }
    response.writeHead(200, { 'content-type': 'text/plain' }).end(JSON.stringify(this.notice));
  }
}
