/**
 * A benchmark process for bench/collectives.ts (files starting with `_` are helpers, not benchmarks). It runs in a
 * network namespace or as a local fork and is driven over the IPC channel:
 * - `createUniqueId(options)`, `join(uniqueId, options)`: form a group;
 * - `timeAllreduce({ elements, iterations, warmup })`: seconds of each timed allreduce on this rank, each one
 *   started right after a barrier so that all ranks start together;
 * - `rawServe({ host, mebibytes })` / `rawFetch({ host, port, mebibytes, zeroCopy })` / `rawServed()`: raw TCP
 *   throughput with Node sockets and 4 MiB writes, received with `data` events or (zeroCopy) `onread` into a reused
 *   buffer; the physical reference for the ring. `rawServed` resolves with the sender's seconds, first byte to ack.
 */
import net from 'node:net';
import { createCommunicator, createUniqueId, type Communicator } from '../runtime/collectives/index.ts';

let communicator: Communicator | undefined;
let rawServed: Promise<number> | undefined;

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
  rawServe: async (options: { host: string; mebibytes: number }) => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, options.host, resolve));
    rawServed = new Promise((resolve) => {
      server.once('connection', async (socket) => {
        const block = Buffer.alloc(4 * 2 ** 20, 7);
        const acknowledged = new Promise((done) => socket.once('data', done));
        const start = process.hrtime.bigint();
        for (let sent = 0; sent < options.mebibytes; sent += 4) {
          if (!socket.write(block)) await new Promise((drained) => socket.once('drain', drained));
        }
        await acknowledged;
        resolve(Number(process.hrtime.bigint() - start) / 1e9);
        socket.destroy();
        server.close();
      });
    });
    return (server.address() as net.AddressInfo).port;
  },
  rawServed: () => rawServed as Promise<number>,
  rawFetch: (options: { host: string; port: number; mebibytes: number; zeroCopy: boolean }) =>
    new Promise<number>((resolve) => {
      const expected = options.mebibytes * 2 ** 20;
      let received = 0;
      let socket: net.Socket;
      const count = (bytes: number): void => {
        received += bytes;
        if (received >= expected) {
          socket.end(Buffer.from([1]));
          resolve(received);
        }
      };
      if (options.zeroCopy) {
        // Node's most efficient receive: the kernel copies into one reused buffer, no allocation per read.
        const reused = Buffer.alloc(4 * 2 ** 20);
        socket = net.connect({ port: options.port, host: options.host, onread: { buffer: reused, callback: (bytes: number) => (count(bytes), true) } });
      } else {
        socket = net.connect(options.port, options.host);
        socket.on('data', (chunk: Buffer) => count(chunk.length));
      }
    }),
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
