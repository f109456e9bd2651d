import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryTransport } from '../../runtime/transport/memory-transport.ts';
import { SocketTransport } from '../../runtime/transport/socket-transport.ts';
import { TransportError } from '../../runtime/runtime-errors.ts';
import { transportConformance } from './transport-conformance.ts';

const directory = mkdtempSync(join(tmpdir(), 'posttrain-transport-'));
let counter = 0;
afterAll(() => rmSync(directory, { recursive: true, force: true }));

transportConformance('unix socket', () => new SocketTransport('unix'), () => `unix:${join(directory, `s${counter++}.sock`)}`);
transportConformance('tcp loopback', () => new SocketTransport('tcp'), () => 'tcp:127.0.0.1:0');
transportConformance('in-memory', () => new MemoryTransport(), () => `memory:conformance-${counter++}`);

describe('socket transport framing', () => {
  it('closes the channel with a TransportError on an oversized or malformed frame instead of crashing', async () => {
    const transport = new SocketTransport('unix');
    let closedWith: Error | undefined;
    const closed = new Promise<void>((resolve) => {
      void transport.listen(`unix:${join(directory, 'bad.sock')}`, (channel) => {
        channel.onClose((error) => {
          closedWith = error;
          resolve();
        });
      }).then((listener) => {
        const raw = new Socket();
        raw.connect(join(directory, 'bad.sock'), () => raw.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3])));
        void closed.then(() => listener.close());
      });
    });
    await closed;
    expect(closedWith).toBeInstanceOf(TransportError);
    expect((closedWith as TransportError).code).toBe('FRAME_TOO_LARGE');
  });
});
