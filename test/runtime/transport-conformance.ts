import { describe, expect, it } from 'vitest';
import { TransportError } from '../../runtime/runtime-errors.ts';
import { RpcConnection } from '../../runtime/transport/rpc.ts';
import { FrameKind, type Channel, type Frame, type Transport } from '../../runtime/transport/transport.ts';

/**
 * The one contract every transport keeps (hono's router conformance pattern): each implementation's test file
 * calls this with a factory, and the same cases run against the Unix socket, TCP and in-memory channels (and the
 * gRPC channel when it lands).
 */
export function transportConformance(name: string, makeTransport: () => Transport, nextAddress: () => string): void {
  describe(`transport conformance: ${name}`, () => {
    async function pair(): Promise<{ client: Channel; server: Channel; close: () => Promise<void> }> {
      const transport = makeTransport();
      let resolveServer: (channel: Channel) => void = () => {};
      const serverReady = new Promise<Channel>((resolve) => (resolveServer = resolve));
      const listener = await transport.listen(nextAddress(), (channel) => resolveServer(channel));
      const client = await transport.connect(listener.address);
      const server = await serverReady;
      return {
        client,
        server,
        close: async () => {
          client.close();
          server.close();
          await listener.close();
        },
      };
    }

    function collect(channel: Channel, count: number): Promise<Frame[]> {
      const frames: Frame[] = [];
      return new Promise((resolve) => {
        channel.onFrame((frame) => {
          frames.push(frame);
          if (frames.length === count) resolve(frames);
        });
      });
    }

    it('delivers every frame once, in order, with route, body and id intact', async () => {
      const { client, server, close } = await pair();
      const received = collect(server, 1000);
      for (let index = 0; index < 1000; index++) client.send({ kind: FrameKind.Notify, id: index, route: `r${index}`, body: `{"i":${index},"s":"é✓"}`, buffers: [] });
      const frames = await received;
      expect(frames.map((frame) => frame.id)).toEqual(Array.from({ length: 1000 }, (_, index) => index));
      expect(frames[999]).toMatchObject({ kind: FrameKind.Notify, route: 'r999', body: '{"i":999,"s":"é✓"}' });
      await close();
    });

    it('moves typed-array bytes exactly, large and small, including odd lengths', async () => {
      const { client, server, close } = await pair();
      const large = new Float32Array(3 * 1024 * 1024 + 3).map((_, index) => index * 0.5);
      const odd = new Uint8Array([1, 2, 3, 4, 5]);
      const received = collect(server, 2);
      client.send({ kind: FrameKind.Request, id: 1, route: 'a', body: '', buffers: [odd, new Uint8Array(large.buffer), odd] });
      client.send({ kind: FrameKind.Request, id: 2, route: 'b', body: '', buffers: [] });
      const [first, second] = await received;
      expect(first?.buffers.length).toBe(3);
      const back = first!.buffers[1]!;
      expect(back.byteLength).toBe(large.byteLength);
      const copy = new Float32Array(back.slice().buffer);
      expect(copy[large.length - 1]).toBe(large[large.length - 1]);
      expect(Buffer.compare(Buffer.from(copy.buffer), Buffer.from(large.buffer))).toBe(0);
      expect([...first!.buffers[2]!]).toEqual([1, 2, 3, 4, 5]);
      expect(second?.id).toBe(2);
      await close();
    });

    it('lets the sender reuse a buffer as soon as send returns', async () => {
      const { client, server, close } = await pair();
      const buffer = new Uint8Array([7, 7, 7]);
      const received = collect(server, 1);
      client.send({ kind: FrameKind.Notify, id: 0, route: 'x', body: '', buffers: [buffer] });
      buffer.fill(0);
      const [frame] = await received;
      expect([...frame!.buffers[0]!]).toEqual([7, 7, 7]);
      await close();
    });

    it('carries traffic both ways and pipelines many requests over RPC', async () => {
      const { client, server, close } = await pair();
      new RpcConnection(server, { onRequest: (frame, respond) => respond.ok(`${frame.body}!`, frame.buffers) });
      const rpc = new RpcConnection(client);
      const replies = await Promise.all(Array.from({ length: 500 }, (_, index) => rpc.request('echo', String(index), [new Uint8Array([index % 256])])));
      expect(replies.map((frame) => frame.body)).toEqual(Array.from({ length: 500 }, (_, index) => `${index}!`));
      expect(replies[300]!.buffers[0]![0]).toBe(300 % 256);
      expect(replies.every((frame) => frame.kind === FrameKind.Response)).toBe(true);
      await close();
    });

    it('closes both ends once, rejects pending requests, and refuses sends after close', async () => {
      const { client, server, close } = await pair();
      const serverClosed = new Promise<void>((resolve) => server.onClose(() => resolve()));
      const rpc = new RpcConnection(client);
      server.onFrame(() => server.close());
      const pending = rpc.request('never-answered', '');
      await expect(pending).rejects.toBeInstanceOf(TransportError);
      await serverClosed;
      let closes = 0;
      client.onClose(() => closes++);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(closes).toBe(1);
      expect(client.closed).toBe(true);
      expect(() => client.send({ kind: FrameKind.Notify, id: 0, route: 'late', body: '', buffers: [] })).toThrow(TransportError);
      await close();
    });

    it('reports bytes queued but not yet written', async () => {
      const { client, server, close } = await pair();
      const received = collect(server, 1);
      client.send({ kind: FrameKind.Notify, id: 0, route: 'x', body: '', buffers: [new Uint8Array(100_000)] });
      expect(client.bufferedBytes).toBeGreaterThanOrEqual(100_000);
      await received;
      await close();
    });
  });
}
