/** Test support: an embedded aedes broker on 127.0.0.1 that a test can stop and start again. */
import { createServer, type Server, type Socket } from 'node:net';
import { freePort } from './index.ts';

export interface TestBroker {
  url: string;
  port: number;
  /** Stops the broker, dropping every connection, session and retained message (no persistence). */
  stop(): Promise<void>;
  /** A fresh broker listening on the same port again. */
  start(): Promise<void>;
}

/** Starts an aedes broker (no auth, TCP_NODELAY like Vigil's own) on `port`, or a free port. */
export async function startTestBroker(port?: number): Promise<TestBroker> {
  const { Aedes } = await import('aedes');
  const listenPort = port ?? (await freePort());
  let server: Server | null = null;
  let broker: Awaited<ReturnType<typeof Aedes.createBroker>> | null = null;
  const sockets = new Set<Socket>();
  const testBroker: TestBroker = {
    url: `mqtt://127.0.0.1:${listenPort}`,
    port: listenPort,
    async start() {
      const b = await Aedes.createBroker();
      broker = b;
      server = createServer({ noDelay: true }, (socket) => {
        // server.close() leaves open connections alone: keep them to cut them on stop().
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        b.handle(socket);
      });
      const s = server;
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(listenPort, '127.0.0.1', () => resolve());
      });
    },
    async stop() {
      const s = server;
      const b = broker;
      server = null;
      broker = null;
      for (const socket of sockets) socket.destroy();
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
      if (b) await new Promise<void>((resolve) => b.close(() => resolve()));
    },
  };
  await testBroker.start();
  return testBroker;
}
