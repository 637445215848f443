/**
 * Test support (never imported by production code): a BACnet/IP client on @bacnet-js/client, bound
 * to loopback on a free port, that discovers by unicast Who-Is and collects COV notifications.
 */
import type { BACNetAddress, BACNetObjectID } from '@bacnet-js/client';
import bacnet from '@bacnet-js/client';
import { freeUdpPort } from './index.ts';

// @bacnet-js/client is CommonJS with `exports.default`: Node's ESM loader hands over the whole
// `exports` object as the default import, vitest's loader the class itself. Take whichever arrived.
type ClientClass = typeof bacnet.default;
const loaded = bacnet as unknown as ClientClass | { default: ClientClass };
const BACnetClient: ClientClass = 'default' in loaded && typeof loaded.default === 'function' ? loaded.default : (loaded as ClientClass);
type BACnetClient = InstanceType<ClientClass>;

type Client = BACnetClient;

export interface CovNotification {
  confirmed: boolean;
  processId: number;
  device: number;
  object: BACNetObjectID;
  timeRemaining: number;
  /** property id → first value */
  values: Record<number, unknown>;
}

export interface IAm {
  address: string;
  deviceId: number;
  maxApdu: number;
  segmentation: number;
  vendorId: number;
}

export class TestClient {
  readonly notifications: CovNotification[] = [];
  readonly iAms: IAm[] = [];
  private constructor(
    readonly client: Client,
    readonly port: number,
  ) {}

  static async open(): Promise<TestClient> {
    const port = await freeUdpPort();
    // NETWORK SAFETY (LIBRARIES.md): loopback interface and loopback broadcast, never the defaults.
    const client = new BACnetClient({ port, interface: '127.0.0.1', broadcastAddress: `127.255.255.255:${port}`, apduTimeout: 2000 });
    const c = new TestClient(client, port);
    client.on('error', () => undefined);
    client.on('iAm', (m) => c.iAms.push({ ...(m.payload as IAm), address: m.header?.sender.address ?? (m.payload as IAm).address }));
    const record = (confirmed: boolean) => (m: { payload: { subscriberProcessId: number; initiatingDeviceId: BACNetObjectID; monitoredObjectId: BACNetObjectID; timeRemaining: number; values: Array<{ property: { id: number }; value: Array<{ value: unknown }> }> } }) => {
      const p = m.payload;
      c.notifications.push({
        confirmed,
        processId: p.subscriberProcessId,
        device: p.initiatingDeviceId.instance,
        object: p.monitoredObjectId,
        timeRemaining: p.timeRemaining,
        values: Object.fromEntries(p.values.map((v) => [v.property.id, v.value[0]?.value])),
      });
    };
    client.on('covNotifyUnconfirmed', (m) => record(false)(m as never));
    client.on('covNotify', (m) => {
      record(true)(m as never);
      // Acknowledge confirmed notifications, as a subscriber must (clause 13.15).
      const header = (m as { header?: { sender: BACNetAddress } }).header;
      if (header && m.invokeId !== undefined && m.service !== undefined) client.simpleAckResponse(header.sender, m.service, m.invokeId);
    });
    await new Promise<void>((resolve) => {
      client.once('listening', () => resolve());
    });
    return c;
  }

  /** Unicast Who-Is to one address; resolves with that device's I-Am. */
  async discover(port: number, timeoutMs = 3000): Promise<IAm> {
    const address = `127.0.0.1:${port}`;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.client.whoIs({ address });
      const start = Date.now();
      while (Date.now() - start < 300) {
        const found = this.iAms.find((i) => i.address === address);
        if (found) return found;
        await new Promise((r) => setTimeout(r, 20));
      }
      if (Date.now() > deadline) throw new Error(`no I-Am from ${address}`);
    }
  }

  async read(port: number, object: BACNetObjectID, property: number, arrayIndex?: number): Promise<unknown[]> {
    const result = await this.client.readProperty({ address: `127.0.0.1:${port}` }, object, property, arrayIndex === undefined ? {} : { arrayIndex });
    return result.values.map((v) => v.value);
  }

  close(): void {
    this.client.close();
  }
}
