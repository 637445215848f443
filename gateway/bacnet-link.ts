/**
 * One BACnet/IP client per gateway (one UDP port, as a BACnet/IP node has): every BACnet driver
 * sends through it, and COV notifications and I-Ams arriving on it are handed to whoever waits for
 * them. Every library event handler is wrapped: an exception inside one would end the process.
 */
import bacnet from '@bacnet-js/client';
import type { Logger } from 'pino';
import { BacnetTransport, type BacnetTransportCounters } from './bacnet-transport.ts';
import type { DecodedValue } from './bacnet-values.ts';

// A CommonJS package with `exports.default`: Node's ESM loader hands over the whole `exports`
// object as the default import, vitest's loader the class itself. Take whichever arrived.
type ClientClass = typeof bacnet.default;
const loaded = bacnet as unknown as ClientClass | { default: ClientClass };
const BACnetClient: ClientClass = 'default' in loaded && typeof loaded.default === 'function' ? loaded.default : (loaded as ClientClass);
type Client = InstanceType<ClientClass>;

/** Where the gateway's BACnet/IP client binds, and whether it may broadcast. */
export interface BacnetBinding {
  /** Interface address. Default 127.0.0.1 (loopback: DESIGN.md, "Loopback only"). */
  interface?: string;
  /** UDP port. Default 0: an ephemeral port the system chooses (we bind the socket, so 0 is not 47808 here). */
  port?: number;
  /**
   * `host:port` for broadcast Who-Is on a real interface in a deployment (e.g. `192.168.1.255:47808`).
   * Unset (the default, and always in tests and the demo): never broadcast; discovery is unicast.
   */
  broadcastAddress?: string;
}

export interface ObjectId {
  type: number;
  instance: number;
}

export interface ReadSpec {
  objectId: ObjectId;
  properties: number[];
}

export interface ReadResult {
  objectId: ObjectId;
  values: Array<{ id: number; value: DecodedValue[] }>;
}

export interface IAm {
  address: string;
  deviceId: number;
  maxApdu: number;
  segmentation: number;
  vendorId: number;
}

export interface CovNotification {
  /** `host:port` of the device that sent it. */
  from: string;
  processId: number;
  deviceInstance: number;
  objectId: ObjectId;
  timeRemaining: number;
  values: Array<{ id: number; value: DecodedValue[] }>;
}

/** How a request failed, by the Vigil error kinds: no answer, or an answer that refused. */
export type BacnetFailure = { kind: 'timeout' } | { kind: 'exception'; code: string };

const ARRAY_ALL = 0xffffffff;

export function classifyFailure(err: unknown): BacnetFailure {
  const message = err instanceof Error ? err.message : String(err);
  if (message === 'ERR_TIMEOUT') return { kind: 'timeout' };
  const error = /^BacnetError - Class:(\d+) - Code:(\d+)/.exec(message);
  if (error) return { kind: 'exception', code: `error ${error[1]}/${error[2]}` };
  const abort = /^BacnetAbort - Reason:(\d+)/.exec(message);
  if (abort) return { kind: 'exception', code: `reject-or-abort ${abort[1]}` };
  // INVALID_DECODING and the like: the device answered, but not usefully.
  return { kind: 'exception', code: message.slice(0, 80) };
}

export class BacnetLink {
  private readonly covListeners = new Map<number, (n: CovNotification) => void>();
  private readonly iAmListeners = new Set<(i: IAm) => void>();
  private nextProcessId = 1;
  private closed = false;

  private constructor(
    private readonly client: Client,
    private readonly transport: BacnetTransport,
    private readonly log: Logger,
  ) {}

  /** Binds the client; resolves once the socket listens. */
  static async open(binding: BacnetBinding, log: Logger, apduTimeoutMs = 3000): Promise<BacnetLink> {
    const iface = binding.interface ?? '127.0.0.1';
    const transport = new BacnetTransport({ interface: iface, port: binding.port ?? 0, log, ...(binding.broadcastAddress ? { broadcastAddress: binding.broadcastAddress } : {}) });
    const listening = new Promise<void>((resolve, reject) => {
      transport.once('listening', () => resolve());
      transport.once('error', reject);
    });
    // interface/broadcastAddress are moot with our transport; set anyway so no library default ever applies.
    const client = new BACnetClient({ transport, interface: iface, broadcastAddress: binding.broadcastAddress ?? `127.255.255.255:${binding.port || 47808}`, apduTimeout: apduTimeoutMs });
    const link = new BacnetLink(client, transport, log);
    client.on('error', (err) => log.warn({ err: err.message }, 'BACnet client error'));
    client.on('iAm', (m) => link.guard('iAm', () => link.handleIAm(m)));
    client.on('covNotifyUnconfirmed', (m) => link.guard('covNotifyUnconfirmed', () => link.onCov(m, false)));
    client.on('covNotify', (m) => link.guard('covNotify', () => link.onCov(m, true)));
    await listening;
    log.info({ address: transport.address }, 'BACnet/IP client bound');
    return link;
  }

  get address(): { address: string; port: number } | null {
    return this.transport.address;
  }

  counters(): BacnetTransportCounters {
    return { ...this.transport.counters };
  }

  /** A subscriber process id (clause 13.14.1.1.1) of its own for each COV subscriber. */
  allocateProcessId(): number {
    return this.nextProcessId++;
  }

  onCovFor(processId: number, listener: (n: CovNotification) => void): () => void {
    this.covListeners.set(processId, listener);
    return () => this.covListeners.delete(processId);
  }

  onIAm(listener: (i: IAm) => void): () => void {
    this.iAmListeners.add(listener);
    return () => this.iAmListeners.delete(listener);
  }

  private handleIAm(m: { header?: { sender?: { address?: string } }; payload?: Partial<IAm> }): void {
    const p = m.payload;
    const address = m.header?.sender?.address ?? p?.address;
    if (!p || typeof p.deviceId !== 'number' || !address) return;
    const iAm: IAm = { address, deviceId: p.deviceId, maxApdu: Number(p.maxApdu ?? 480), segmentation: Number(p.segmentation ?? 3), vendorId: Number(p.vendorId ?? 0) };
    for (const listener of this.iAmListeners) listener(iAm);
  }

  /** Clause 16.10: Who-Is to one address (unicast), optionally for a range of device instances. */
  whoIs(address: string | null, range?: { lowLimit: number; highLimit: number }): void {
    if (this.closed) return;
    try {
      if (address) this.client.whoIs({ address }, range);
      else this.client.whoIs(range);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, address }, 'Who-Is could not be sent');
    }
  }

  /** Clause 15.7: ReadPropertyMultiple, the whole request and answer within one APDU. */
  async readMultiple(address: string, specs: ReadSpec[], timeoutMs: number): Promise<ReadResult[]> {
    const request = specs.map((s) => ({ objectId: s.objectId, properties: s.properties.map((id) => ({ id, index: ARRAY_ALL })) }));
    const result = await this.within(timeoutMs, this.client.readPropertyMultiple({ address }, request as never));
    const values = (result as { values?: unknown }).values;
    if (!Array.isArray(values)) throw new Error('INVALID_DECODING');
    return values.map((v: { objectId?: ObjectId; values?: Array<{ id: number; value: DecodedValue[] }> }) => ({
      objectId: v.objectId ?? { type: -1, instance: -1 },
      values: Array.isArray(v.values) ? v.values.map((p) => ({ id: Number(p.id), value: Array.isArray(p.value) ? p.value : [] })) : [],
    }));
  }

  /** Clause 15.5: ReadProperty of one property (the whole value). */
  async read(address: string, objectId: ObjectId, property: number, timeoutMs: number, arrayIndex?: number): Promise<DecodedValue[]> {
    const result = await this.within(timeoutMs, this.client.readProperty({ address }, objectId as never, property, arrayIndex !== undefined ? { arrayIndex } : {}));
    const values = (result as { values?: unknown }).values;
    if (!Array.isArray(values)) throw new Error('INVALID_DECODING');
    return values as DecodedValue[];
  }

  /** Clause 15.9: WriteProperty at a priority (1–16, clause 19.2) for commandable properties. */
  async write(address: string, objectId: ObjectId, property: number, value: { type: number; value: unknown }, priority: number | undefined, timeoutMs: number): Promise<void> {
    await this.within(timeoutMs, this.client.writeProperty({ address }, objectId as never, property, [value] as never, priority === undefined ? {} : { priority }));
  }

  /** Clause 13.14: SubscribeCOV (confirmed notifications), or its cancellation. Lifetime in seconds. */
  async subscribeCov(address: string, objectId: ObjectId, processId: number, lifetimeS: number, timeoutMs: number, cancel = false): Promise<void> {
    await this.within(timeoutMs, this.client.subscribeCov({ address }, objectId as never, processId, cancel, !cancel, cancel ? 0 : lifetimeS));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.covListeners.clear();
    this.iAmListeners.clear();
    try {
      this.client.close();
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'BACnet client close failed');
    }
  }

  private within<T>(timeoutMs: number, request: Promise<T>): Promise<T> {
    // The library times out at its own apduTimeout (the longest device timeout); each device has its own.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('ERR_TIMEOUT')), timeoutMs);
    });
    request.catch(() => undefined); // the loser of the race must not become an unhandled rejection
    return Promise.race([request, timeout]).finally(() => clearTimeout(timer));
  }

  private onCov(m: { header?: { sender?: { address?: string } }; payload?: unknown; invokeId?: number; service?: number }, confirmed: boolean): void {
    const sender = m.header?.sender;
    // Clause 13.15: a confirmed notification is acknowledged whether or not anyone still wants it.
    if (confirmed && sender && m.invokeId !== undefined && m.service !== undefined) this.client.simpleAckResponse(sender as never, m.service, m.invokeId);
    const p = m.payload as {
      subscriberProcessId?: number;
      initiatingDeviceId?: ObjectId;
      monitoredObjectId?: ObjectId;
      timeRemaining?: number;
      values?: Array<{ property?: { id?: number }; value?: DecodedValue[] }>;
    } | undefined;
    if (!p || typeof p.subscriberProcessId !== 'number' || !p.monitoredObjectId || !sender?.address) return;
    const listener = this.covListeners.get(p.subscriberProcessId);
    if (!listener) return;
    listener({
      from: sender.address,
      processId: p.subscriberProcessId,
      deviceInstance: Number(p.initiatingDeviceId?.instance ?? -1),
      objectId: { type: Number(p.monitoredObjectId.type), instance: Number(p.monitoredObjectId.instance) },
      timeRemaining: Number(p.timeRemaining ?? 0),
      values: (p.values ?? []).map((v) => ({ id: Number(v.property?.id ?? -1), value: Array.isArray(v.value) ? v.value : [] })),
    });
  }

  private guard(event: string, handle: () => void): void {
    try {
      handle();
    } catch (err) {
      this.log.error({ err, event }, 'BACnet event handler failed; the message is dropped');
    }
  }
}
