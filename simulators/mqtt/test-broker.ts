/** Test support: the embedded aedes broker of DESIGN.md on a free loopback port (never imported by production code). */
import { createServer } from 'node:net';
import { freePort } from '../../testing/index.ts';

export async function startTestBroker(): Promise<{ url: string; port: number; stop(): Promise<void> }> {
  const { Aedes } = await import('aedes');
  const broker = await Aedes.createBroker();
  const server = createServer(broker.handle);
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}
