import fs from 'node:fs';
import path from 'node:path';
import { eventType, sessionStatus } from './event-proto.ts';
import { readRecords } from './tfrecord.ts';

/** One decoded event. */
export interface TensorBoardEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  /** SessionLog status name (`START`, `STOP`, `CHECKPOINT`). */
  sessionStatus?: string;
  /** The summary's scalar values, tag -> simple_value (float32). */
  scalars?: Record<string, number>;
}

/** One point of a scalar series. */
export interface ScalarPoint {
  step: number;
  value: number;
  wallTime: number;
}

/**
 * Decode every event in one event file (record framing and both CRCs checked).
 *
 * @example
 * const events = readEventFile('runs/ppo-1/events.out.tfevents.1700000000.host');
 * events[0].fileVersion; // 'brain.Event:2'
 */
export function readEventFile(filePath: string): TensorBoardEvent[] {
  const type = eventType();
  const statusNames = Object.fromEntries(Object.entries(sessionStatus()).map(([name, value]) => [value, name]));
  return readRecords(fs.readFileSync(filePath), filePath).map((data) => {
    const message = type.toObject(type.decode(data), { longs: Number, enums: Number, defaults: true, oneofs: true }) as {
      wallTime: number;
      step: number;
      fileVersion?: string;
      sessionLog?: { status: number };
      summary?: { value: { tag: string; simpleValue?: number }[] };
    };
    const event: TensorBoardEvent = { wallTime: message.wallTime, step: message.step };
    if (message.fileVersion) event.fileVersion = message.fileVersion;
    if (message.sessionLog) event.sessionStatus = statusNames[message.sessionLog.status];
    if (message.summary) {
      event.scalars = {};
      for (const value of message.summary.value) {
        if (value.simpleValue !== undefined) event.scalars[value.tag] = value.simpleValue;
      }
    }
    return event;
  });
}

/**
 * The event files in `dir`, oldest first (their names start with the creation time).
 *
 * @example
 * listEventFiles('runs/ppo-1'); // ['runs/ppo-1/events.out.tfevents.1700000000.host']
 */
export function listEventFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((name) => name.startsWith('events.out.tfevents.'))
    .sort((a, b) => Number(a.split('.')[3]) - Number(b.split('.')[3]) || a.localeCompare(b))
    .map((name) => path.join(dir, name));
}

/**
 * Every scalar series in a run directory, tag -> points in step order, read the way TensorBoard reads it: files in
 * creation order, and a SessionLog START at step s drops the points already read at step >= s (a resumed run's
 * orphaned tail).
 *
 * @example
 * readScalars('runs/ppo-1').get('goldReward'); // [{ step: 1, value: 0.41, wallTime: ... }, ...]
 */
export function readScalars(dir: string): Map<string, ScalarPoint[]> {
  const series = new Map<string, ScalarPoint[]>();
  for (const file of listEventFiles(dir)) {
    for (const event of readEventFile(file)) {
      if (event.sessionStatus === 'START') {
        for (const [tag, points] of series) series.set(tag, points.filter((point) => point.step < event.step));
      }
      for (const [tag, value] of Object.entries(event.scalars ?? {})) {
        const points = series.get(tag) ?? [];
        points.push({ step: event.step, value, wallTime: event.wallTime });
        series.set(tag, points);
      }
    }
  }
  return series;
}
