/**
 * A benchmark process for bench/collectives.ts (files starting with `_` are helpers, not benchmarks). It runs in a
 * network namespace or as a local fork and is driven over the IPC channel:
 * - `createUniqueId(options)`, `join(uniqueId, options)`: form a group;
 * - `timeAllreduce({ elements, iterations, warmup })`: seconds of each timed allreduce on this rank, each one
 *   started right after a barrier so that all ranks start together;
 * - `rawListen({ host })` / `rawReceive()` / `rawSend({ host, port, bytes })`: raw TCP throughput with Node sockets
 *   and large writes, the physical reference for the ring.
 */
import net from 'node:net';
import { createCommunicator, createUniqueId, type Communicator } from '../runtime/collectives/index.ts';

let communicator: Communicator | undefined;
let rawServer: net.Server | undefined;
let rawReceived: Promise<number> | undefined;

const commands: Record<string, (...args: never[]) => Promise<unknown>> = {
  createUniqueId: (options: Parameters<typeof createUniqueId>[0]) => createUniqueId(options),
  join: async (uniqueId: string, options: Parameters<typeof createCommunicator>[1]) => {
    communicator = await createCommunicator(uniqueId, options);
  },
  timeAllreduce: async (options: { elements: number; iterations: number; warmup: number }) => {
    const group = communicator as Communicator;
    const buffer = new Float32Array(options.elements).fill(group.rank + 1);
    const seconds: number[] = [];
    for (let iteration = 0; iteration < options.warmup + options.iterations; iteration++) {
      await group.barrier();
      const start = process.hrtime.bigint();
      await group.allreduce(buffer, { op: 'sum' });
      const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
      if (iteration >= options.warmup) seconds.push(elapsed);
    }
    return seconds;
  },
  destroy: async () => {
    await communicator?.destroy();
    communicator = undefined;
  },
  rawListen: async (options: { host: string }) => {
    rawServer = net.createServer();
    await new Promise<void>((resolve) => rawServer?.listen(0, options.host, resolve));
    rawReceived = new Promise((resolve) => {
      rawServer?.once('connection', (socket) => {
        let bytes = 0;
        let expected = -1;
        socket.on('data', (chunk: Buffer) => {
          if (expected < 0) {
            expected = chunk.readUInt32LE(0) * 2 ** 20;
            bytes = chunk.length - 4;
          } else bytes += chunk.length;
          if (bytes >= expected) {
            socket.end(Buffer.from([1]));
            resolve(bytes);
          }
        });
      });
    });
    return (rawServer.address() as net.AddressInfo).port;
  },
  rawReceive: async () => {
    const bytes = await rawReceived;
    rawServer?.close();
    return bytes;
  },
  rawSend: async (options: { host: string; port: number; mebibytes: number }) => {
    const socket = net.connect(options.port, options.host);
    await new Promise((resolve) => socket.once('connect', resolve));
    const block = Buffer.alloc(4 * 2 ** 20, 7);
    const header = Buffer.alloc(4);
    header.writeUInt32LE(options.mebibytes);
    const acknowledged = new Promise((resolve) => socket.once('data', resolve));
    const start = process.hrtime.bigint();
    socket.write(header);
    for (let sent = 0; sent < options.mebibytes; sent += 4) {
      if (!socket.write(block)) await new Promise((resolve) => socket.once('drain', resolve));
    }
    await acknowledged;
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    socket.destroy();
    return seconds;
  },
};

process.on('message', (request: { id: number; command: string; args: unknown[] }) => {
  const command = commands[request.command] as ((...args: unknown[]) => Promise<unknown>) | undefined;
  if (!command) {
    process.send?.({ id: request.id, error: `unknown command ${request.command}` });
    return;
  }
  command(...request.args).then(
    (result) => process.send?.({ id: request.id, result }),
    (error: unknown) => process.send?.({ id: request.id, error: error instanceof Error ? error.message : String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send?.({ ready: true });
