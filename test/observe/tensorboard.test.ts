import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  crc32c,
  frameRecord,
  listEventFiles,
  maskedCrc32c,
  MetricsWriter,
  readEventFile,
  readRecords,
  readScalars,
  scalarsOf,
  TensorBoardWriter,
} from '../../observe/index.ts';
import { simulatedPpoRecord, temporaryDirectory } from './fixtures.ts';
import { Rng } from '../../models/rng.ts';

describe('CRC32C', () => {
  it('gives the standard check value for "123456789"', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it('masks as TFRecord does: rotate right by 15 and add 0xa282ead8', () => {
    expect(maskedCrc32c(Buffer.from('123456789'))).toBe(0xc78ab0e5);
  });
});

describe('TFRecord framing', () => {
  it('round-trips records and stops quietly at a truncated last record', () => {
    const records = [Buffer.from('first'), Buffer.alloc(0), Buffer.from('third record')];
    const file = Buffer.concat(records.map((record) => frameRecord(record)));
    expect(readRecords(file).map((record) => record.toString())).toEqual(['first', '', 'third record']);
    expect(readRecords(file.subarray(0, file.length - 3)).map((record) => record.toString())).toEqual(['first', '']);
  });

  it('detects a corrupted data CRC and a corrupted length CRC', () => {
    const file = Buffer.concat([frameRecord(Buffer.from('alpha')), frameRecord(Buffer.from('beta'))]);
    const dataFlipped = Buffer.from(file);
    dataFlipped[frameRecord(Buffer.from('alpha')).length + 12] ^= 0x01; // first byte of the second record's data
    expect(() => readRecords(dataFlipped, 'events')).toThrow(/CRC32C mismatch in the data of the record at byte 21/);
    const lengthCrcFlipped = Buffer.from(file);
    lengthCrcFlipped[9] ^= 0x80;
    expect(() => readRecords(lengthCrcFlipped, 'events')).toThrow(/CRC32C mismatch in the length of the record at byte 0/);
  });
});

describe('TensorBoard event files', () => {
  it('start with a file_version event whose bytes carry TensorFlow\'s field numbers', () => {
    const dir = temporaryDirectory('tb-version');
    const writer = TensorBoardWriter.open(dir, { now: () => 1_700_000_000.5 });
    writer.close();
    expect(path.basename(writer.path)).toMatch(/^events\.out\.tfevents\.1700000000\.[^.]+/);
    const [record] = readRecords(fs.readFileSync(writer.path));
    // Event.wall_time is field 1, a double (tag 0x09); Event.file_version is field 3, a string (tag 0x1a).
    expect(record?.[0]).toBe(0x09);
    expect(record?.readDoubleLE(1)).toBe(1_700_000_000.5);
    expect(record?.subarray(9).toString('latin1')).toContain('\x1a\x0dbrain.Event:2');
    expect(readEventFile(writer.path)[0]).toMatchObject({ fileVersion: 'brain.Event:2', step: 0 });
  });

  it('hold every scalar the metrics writer logged, at its step', () => {
    const dir = temporaryDirectory('tb-scalars');
    const rng = new Rng(3);
    const writer = MetricsWriter.open(dir);
    const logged = Array.from({ length: 25 }, (_, index) => simulatedPpoRecord(index + 1, rng));
    for (const record of logged) writer.append(record);
    writer.close();

    const [eventFile] = listEventFiles(dir);
    expect(eventFile).toBeDefined();
    const series = readScalars(dir);
    let found = 0;
    for (const record of logged) {
      for (const [tag, value] of Object.entries(scalarsOf(record))) {
        const point = series.get(tag)?.find((candidate) => candidate.step === record.step);
        expect(point?.value, `${tag} at step ${record.step}`).toBe(Math.fround(value));
        found += 1;
      }
    }
    // 8 headline fields + weightVersion + 4 phases per step.
    expect(found).toBe(25 * 13);
    expect(series.get('phaseSeconds/generate')).toHaveLength(25);
  });

  it('drop a crashed run\'s orphaned points on resume, as TensorBoard does for a SessionLog START', () => {
    const dir = temporaryDirectory('tb-resume');
    let clock = 1_700_000_000;
    const first = MetricsWriter.open(dir, { now: () => clock });
    for (let step = 1; step <= 8; step++) first.append({ step, kl: step });
    first.close();
    clock += 100;
    const resumed = MetricsWriter.open(dir, { resumeFromStep: 5, now: () => clock });
    for (let step = 6; step <= 7; step++) resumed.append({ step, kl: 100 + step });
    resumed.close();

    expect(listEventFiles(dir)).toHaveLength(2);
    expect(readScalars(dir).get('kl')?.map((point) => [point.step, point.value])).toEqual([
      [1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [6, 106], [7, 107],
    ]);
  });
});
