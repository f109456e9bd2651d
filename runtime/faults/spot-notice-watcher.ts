/**
 * Spot interruption notices. A cloud reclaims a spot instance with a short warning (AWS: two minutes), published
 * on the instance-metadata service; a run that watches it can checkpoint and stop cleanly instead of losing
 * everything since its last checkpoint (ARCHITECTURE.md section 7).
 *
 * The format is AWS's `spot/instance-action` document
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-instance-termination-notices.html):
 * HTTP 404 while there is no notice; HTTP 200 with `{"action": "terminate" | "stop" | "hibernate", "time": "<ISO>"}`
 * once there is one. With IMDSv2 enforced a plain GET answers 401; the watcher then fetches a session token
 * (`PUT /latest/api/token`) and sends it, as the AWS SDKs do. The URL is configurable, so tests point it at a
 * local fake and other clouds' metadata services can be proxied into this shape.
 */
import type { Logger } from '../logging.ts';
import { rootLogger } from '../logging.ts';

/** AWS's instance-metadata URL of spot interruption notices. */
export const AWS_SPOT_NOTICE_URL = 'http://169.254.169.254/latest/meta-data/spot/instance-action';

export interface SpotNotice {
  /** What the cloud will do: `terminate`, `stop` or `hibernate`. */
  action: string;
  /** When it will happen (ISO time, as published). */
  time: string;
  /** The URL it was read from. */
  url: string;
}

export interface SpotNoticeWatcherOptions {
  /** Metadata URL to poll (default: AWS's). */
  url?: string;
  /** Time between polls (default 5 s). */
  pollMs?: number;
  /** Time one request may take before it counts as "no answer" (default 1 s). */
  requestTimeoutMs?: number;
  /** Called once, with the first notice seen. */
  onNotice: (notice: SpotNotice) => void;
  logger?: Logger;
}

/**
 * Polls the metadata URL every `pollMs` in the background (timers do not keep the process alive) and calls
 * `onNotice` once, on the first notice. `check()` polls at once, e.g. at a step boundary. An unreachable metadata
 * service (not on a cloud, a network blip) is logged at debug level and polled again later: it is not a notice.
 *
 * @example
 * const watcher = new SpotNoticeWatcher({ pollMs: 5000, onNotice: (notice) => session.requestStop(`spot-${notice.action}`) });
 * watcher.start();
 * // ... at each step boundary:
 * if (await watcher.check()) break;
 * watcher.stop();
 */
export class SpotNoticeWatcher {
  readonly url: string;
  private readonly pollMs: number;
  private readonly requestTimeoutMs: number;
  private readonly onNotice: (notice: SpotNotice) => void;
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private token: string | undefined;
  private seen: SpotNotice | undefined;

  constructor(options: SpotNoticeWatcherOptions) {
    this.url = options.url ?? AWS_SPOT_NOTICE_URL;
    this.pollMs = options.pollMs ?? 5_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 1_000;
    this.onNotice = options.onNotice;
    this.logger = (options.logger ?? rootLogger()).child({ component: 'spot-notice' });
  }

  /** The notice seen so far, if any. */
  get notice(): SpotNotice | undefined {
    return this.seen;
  }

  /** Starts background polling (the first poll happens after `pollMs`). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule();
  }

  /** Stops background polling; a poll in flight finishes but reports nothing. */
  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Polls once now; resolves with the notice when there is one (the first one also goes to `onNotice`). */
  async check(): Promise<SpotNotice | undefined> {
    if (this.seen) return this.seen;
    const notice = await this.poll();
    if (notice && !this.seen) {
      this.seen = notice;
      this.logger.warn({ action: notice.action, time: notice.time, url: notice.url }, `spot interruption notice: the instance will ${notice.action} at ${notice.time}`);
      this.onNotice(notice);
    }
    return this.seen;
  }

  private schedule(): void {
    this.timer = setTimeout(async () => {
      if (!this.running) return;
      await this.check();
      if (this.running && !this.seen) this.schedule();
    }, this.pollMs);
    this.timer.unref();
  }

  private async poll(): Promise<SpotNotice | undefined> {
    try {
      let response = await this.get();
      if (response.status === 401) {
        this.token = await this.sessionToken();
        response = await this.get();
      }
      if (response.status === 404) return undefined;
      if (response.status !== 200) {
        this.logger.debug({ url: this.url, status: response.status }, 'spot notice poll: unexpected status; treated as no notice');
        return undefined;
      }
      const body = (await response.json()) as { action?: unknown; time?: unknown };
      if (typeof body.action !== 'string') {
        this.logger.warn({ url: this.url, body }, 'spot notice poll: a 200 answer without an "action"; treated as no notice');
        return undefined;
      }
      return { action: body.action, time: typeof body.time === 'string' ? body.time : '', url: this.url };
    } catch (error) {
      this.logger.debug({ url: this.url, err: error }, 'spot notice poll failed (no metadata service here?); polling again later');
      return undefined;
    }
  }

  private get(): Promise<Response> {
    return fetch(this.url, {
      signal: AbortSignal.timeout(this.requestTimeoutMs),
      ...(this.token ? { headers: { 'X-aws-ec2-metadata-token': this.token } } : {}),
    });
  }

  /** IMDSv2: a session token from `PUT <origin>/latest/api/token`. */
  private async sessionToken(): Promise<string> {
    const response = await fetch(new URL('/latest/api/token', this.url), {
      method: 'PUT',
      headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '21600' },
      signal: AbortSignal.timeout(this.requestTimeoutMs),
    });
    if (!response.ok) throw new Error(`metadata token request answered ${response.status}`);
    return response.text();
  }
}
