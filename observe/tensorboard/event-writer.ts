import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eventType, sessionStatus } from './event-proto.ts';
import { frameRecord } from './tfrecord.ts';

/** The version string TensorBoard expects in the first event of a file. */
export const FILE_VERSION = 'brain.Event:2';

/** Options for `TensorBoardWriter.open`. */
export interface TensorBoardWriterOptions {
  /**
   * The run resumes after this step: the new file starts with a SessionLog START event at `resumedFromStep + 1`,
   * which tells TensorBoard to drop the earlier files' points at that step and later (they were orphaned by the
   * crash), exactly as TensorFlow's own writers do on restart.
   */
  resumedFromStep?: number;
  /** Wall clock in seconds (tests pin it). */
  now?: () => number;
}

/**
 * Appends scalar summaries to a TensorBoard event file `events.out.tfevents.<seconds>.<host>` in `dir`, so that
 * `tensorboard --logdir runs` shows every run. Each event is written with one `write` call (no buffering), so a
 * crash loses at most the event being written, which readers skip as a truncated record.
 *
 * @example
 * const writer = TensorBoardWriter.open('runs/ppo-1');
 * writer.addScalars(1, { goldReward: 0.41, kl: 0.002 });
 * writer.close();
 */
export class TensorBoardWriter {
  readonly path: string;
  private readonly fd: number;
  private readonly now: () => number;

  private constructor(filePath: string, fd: number, now: () => number) {
    this.path = filePath;
    this.fd = fd;
    this.now = now;
  }

  static open(dir: string, options: TensorBoardWriterOptions = {}): TensorBoardWriter {
    const now = options.now ?? (() => Date.now() / 1000);
    fs.mkdirSync(dir, { recursive: true });
    const started = now();
    const base = path.join(dir, `events.out.tfevents.${Math.floor(started)}.${os.hostname()}`);
    // Two writers in one second (a quick resume) must not share a file: the second gets the pid appended.
    const filePath = fs.existsSync(base) ? `${base}.${process.pid}` : base;
    const writer = new TensorBoardWriter(filePath, fs.openSync(filePath, 'a'), now);
    writer.writeEvent({ wallTime: started, step: 0, fileVersion: FILE_VERSION });
    if (options.resumedFromStep !== undefined) {
      writer.writeEvent({
        wallTime: started,
        step: options.resumedFromStep + 1,
        sessionLog: { status: sessionStatus().START },
      });
    }
    return writer;
  }

  /** Write one Summary event holding every finite scalar in `scalars` (tag -> value) at `step`. */
  addScalars(step: number, scalars: Record<string, number>, wallTime = this.now()): void {
    const value = Object.entries(scalars)
      .filter(([, scalar]) => Number.isFinite(scalar))
      .map(([tag, scalar]) => ({ tag, simpleValue: scalar }));
    if (value.length === 0) return;
    this.writeEvent({ wallTime, step, summary: { value } });
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  private writeEvent(event: Record<string, unknown>): void {
    const type = eventType();
    fs.writeSync(this.fd, frameRecord(type.encode(type.fromObject(event)).finish()));
  }
}
