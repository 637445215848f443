/**
 * One simulated BACnet/IP device: @bacnet-js/client encodes and decodes, our transport guards the
 * wire, the object table answers, and we keep the COV subscriptions (the library keeps none).
 */
import {
  ApplicationTag,
  ConfirmedServiceChoice,
  ErrorClass,
  ErrorCode,
  ObjectType,
  ObjectTypesSupportedBitString,
  PropertyIdentifier as P,
  Segmentation,
  ServicesSupported,
  ServicesSupportedBitString,
  UnconfirmedServiceChoice,
  type BACNetAddress,
  type BACNetObjectID,
} from '@bacnet-js/client';
import type { Logger } from 'pino';
import { ARRAY_ALL, BacnetError, bits, enumerated, identity, objectId, ObjectTable, objectKey, text, unsigned, withPropertyList, type AppValue, type BacnetObject } from './objects.ts';
import { BACnetClient } from './client-class.ts';
import { GuardedTransport, MAX_APDU, type TransportCounters } from './transport.ts';


/** Not a registered vendor id: a simulator must not pose as a real manufacturer. */
export const VENDOR_ID = 999;
/** Revision 14 (135-2012) brought Property_List, which we serve. */
const PROTOCOL_REVISION = 14;
/** Subscriptions one device keeps; more are refused (clause 13.14.1.3.1: resources). */
export const MAX_SUBSCRIPTIONS = 256;

export interface DeviceIdentity {
  instance: number;
  name: string;
  description: string;
  modelName: string;
}

export interface BacnetDeviceServerOptions {
  host: string;
  port: number;
  device: DeviceIdentity;
  /** The model's objects; the Device object is added in front. */
  objects: BacnetObject[];
  log: Logger;
  /** Whether ReadPropertyMultiple is served now (the AHU's legacy switch turns it off). */
  readPropertyMultiple?: () => boolean;
  /** Real time for subscription lifetimes (protocol time, not plant time). */
  realNow?: () => number;
}

interface Subscription {
  receiver: BACNetAddress;
  processId: number;
  object: BACnetObjectRef;
  confirmed: boolean;
  /** Real ms since the epoch, or null for an indefinite subscription (lifetime 0). */
  expiresAt: number | null;
  /** What the subscriber was last told. */
  last: CovSnapshot;
}

type BACnetObjectRef = { type: number; instance: number };
interface CovSnapshot {
  presentValue: AppValue[];
  statusFlags: AppValue[];
}

export interface BacnetServerCounters extends TransportCounters {
  subscriptions: number;
  covNotifications: number;
  covNotificationsUnacknowledged: number;
}

export class BacnetDeviceServer {
  readonly table: ObjectTable;
  private readonly transport: GuardedTransport;
  private client: BACnetClient | null = null;
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly realNow: () => number;
  private covNotifications = 0;
  private covUnacknowledged = 0;

  constructor(private readonly opts: BacnetDeviceServerOptions) {
    this.realNow = opts.realNow ?? Date.now;
    const deviceObject = createDeviceObject(opts.device, () => this.table.objects);
    this.table = new ObjectTable([deviceObject, ...opts.objects]);
    const rpm = opts.readPropertyMultiple ?? (() => true);
    const withRpm = new Set([ConfirmedServiceChoice.READ_PROPERTY, ConfirmedServiceChoice.READ_PROPERTY_MULTIPLE, ConfirmedServiceChoice.WRITE_PROPERTY, ConfirmedServiceChoice.SUBSCRIBE_COV]);
    const withoutRpm = new Set([...withRpm].filter((s) => s !== ConfirmedServiceChoice.READ_PROPERTY_MULTIPLE));
    this.transport = new GuardedTransport({
      host: opts.host,
      port: opts.port,
      log: opts.log,
      // A device without ReadPropertyMultiple rejects it as unrecognized-service (clause 20.1.8), as old controllers do.
      confirmedServices: () => (rpm() ? withRpm : withoutRpm),
      unconfirmedServices: new Set([UnconfirmedServiceChoice.WHO_IS]),
    });
  }

  get instance(): number {
    return this.opts.device.instance;
  }

  async listen(): Promise<void> {
    await this.transport.listen();
    // interface/broadcastAddress are moot with our transport; set anyway so no default ever applies.
    const client = new BACnetClient({ transport: this.transport, interface: this.opts.host, broadcastAddress: '127.255.255.255', apduTimeout: 3000 });
    // The library reports socket errors through here; without a listener an 'error' event throws.
    client.on('error', (err) => this.opts.log.warn({ err }, 'BACnet client error'));
    client.on('whoIs', (c) => this.guard(c, () => this.onWhoIs(c.payload, c.header?.sender)));
    client.on('readProperty', (c) => this.guard(c, () => this.onReadProperty(c)));
    client.on('readPropertyMultiple', (c) => this.guard(c, () => this.onReadPropertyMultiple(c)));
    client.on('writeProperty', (c) => this.guard(c, () => this.onWriteProperty(c)));
    client.on('subscribeCov', (c) => this.guard(c, () => this.onSubscribeCov(c)));
    this.client = client;
  }

  /** The comm-loss fault: the device answers nothing and notifies nobody. */
  set silent(on: boolean) {
    this.transport.silent = on;
  }
  get silent(): boolean {
    return this.transport.silent;
  }

  counters(): BacnetServerCounters {
    return {
      ...this.transport.counters,
      subscriptions: this.subscriptions.size,
      covNotifications: this.covNotifications,
      covNotificationsUnacknowledged: this.covUnacknowledged,
    };
  }

  /**
   * Expires subscriptions and notifies every subscriber whose object's Present_Value or
   * Status_Flags changed (clause 13.1: the COV reporting criteria; analog values by COV_Increment).
   */
  checkCov(): void {
    const now = this.realNow();
    for (const [key, sub] of this.subscriptions) {
      if (sub.expiresAt !== null && sub.expiresAt <= now) {
        this.subscriptions.delete(key);
        continue;
      }
      const object = this.table.get(sub.object.type, sub.object.instance);
      if (!object) continue;
      const current = this.snapshot(object);
      if (changed(sub.last, current, object.cov?.increment?.() ?? 0)) {
        sub.last = current;
        this.notify(sub, current);
      }
    }
  }

  async close(): Promise<void> {
    this.subscriptions.clear();
    // The client closes the transport (our socket) too.
    if (this.client) this.client.close();
    else this.transport.close();
  }

  // --- handlers: each wrapped, since an exception inside a library event handler ends the process ---

  private guard(content: { invokeId?: number; service?: number; header?: { sender: BACNetAddress; confirmedService?: boolean } }, handle: () => void): void {
    this.transport.markHandled();
    try {
      handle();
    } catch (err) {
      const sender = content.header?.sender;
      const known = err instanceof BacnetError;
      if (!known) this.opts.log.error({ err }, 'BACnet request handler failed');
      if (!sender || !content.header?.confirmedService || content.invokeId === undefined || content.service === undefined) return;
      const [cls, code] = known ? [err.errorClass, err.errorCode] : [ErrorClass.DEVICE, ErrorCode.OTHER];
      try {
        this.client?.errorResponse(sender, content.service, content.invokeId, cls, code);
      } catch (again) {
        this.opts.log.error({ err: again }, 'BACnet error answer failed');
      }
    }
  }

  /** Clause 16.10: answer a Who-Is whose range includes us with I-Am, to the requester only. */
  private onWhoIs(payload: { lowLimit?: number; highLimit?: number }, sender?: BACNetAddress): void {
    const { lowLimit, highLimit } = payload;
    const instance = this.instance;
    if (lowLimit !== undefined && highLimit !== undefined && (instance < lowLimit || instance > highLimit)) return;
    if (!sender) return;
    this.client!.iAmResponse({ address: sender.address, net: sender.net, adr: sender.adr } as BACNetAddress, instance, Segmentation.NO_SEGMENTATION, VENDOR_ID);
  }

  private onReadProperty(c: { invokeId?: number; header?: { sender: BACNetAddress }; payload: { objectId: BACNetObjectID; property: { id: number; index: number } } }): void {
    const { objectId: oid, property } = c.payload;
    const target = this.resolveDevice(oid);
    const values = this.table.read(target.type, target.instance, property.id, property.index);
    const fits = this.transport.answerFits(() => this.client!.readPropertyResponse(c.header!.sender, c.invokeId!, target, property, values));
    // No segmentation (the library cannot send segments): the client must read the array element by element.
    if (!fits) this.transport.abortCurrent();
  }

  private onReadPropertyMultiple(c: {
    invokeId?: number;
    header?: { sender: BACNetAddress };
    payload: { properties: Array<{ objectId: BACNetObjectID; properties: Array<{ id: number; index: number }> }> };
  }): void {
    const results = c.payload.properties.map(({ objectId: oid, properties }) => {
      const target = this.resolveDevice(oid);
      const object = this.table.get(target.type, target.instance);
      // Clause 15.7.2: ALL, REQUIRED and OPTIONAL expand to the object's properties (we serve them all).
      const wanted = properties.flatMap((p) =>
        object && (p.id === P.ALL || p.id === P.REQUIRED || p.id === P.OPTIONAL) ? object.properties.map((s) => ({ id: s.id, index: ARRAY_ALL })) : [p],
      );
      return {
        objectId: target,
        values: wanted.map((p) => {
          try {
            return { property: p, value: this.table.read(target.type, target.instance, p.id, p.index) };
          } catch (err) {
            if (!(err instanceof BacnetError)) throw err;
            return { property: p, value: [{ value: { type: 'BacnetError', errorClass: err.errorClass, errorCode: err.errorCode } }] };
          }
        }),
      };
    });
    const fits = this.transport.answerFits(() => this.client!.readPropertyMultipleResponse(c.header!.sender, c.invokeId!, results as never));
    if (!fits) this.transport.abortCurrent();
  }

  private onWriteProperty(c: {
    invokeId?: number;
    service?: number;
    header?: { sender: BACNetAddress };
    payload: { objectId: BACNetObjectID; value: { property: { id: number; index: number }; value: AppValue[]; priority: number } };
  }): void {
    const { objectId: oid, value } = c.payload;
    const target = this.resolveDevice(oid);
    this.table.write(target.type, target.instance, value.property.id, value.property.index, value.value, value.priority || 16);
    this.client!.simpleAckResponse(c.header!.sender, c.service!, c.invokeId!);
    // A command changes Present_Value now: subscribers hear of it without waiting for the next step.
    this.checkCov();
  }

  private onSubscribeCov(c: {
    invokeId?: number;
    service?: number;
    header?: { sender: BACNetAddress };
    payload: { subscriberProcessId: number; monitoredObjectId: BACNetObjectID; issueConfirmedNotifications: boolean; lifetime: number; cancellationRequest?: boolean };
  }): void {
    const p = c.payload;
    const sender = c.header!.sender;
    const receiver: BACNetAddress = { address: sender.address, net: sender.net, adr: sender.adr } as BACNetAddress;
    const key = `${sender.address}|${p.subscriberProcessId}|${objectKey(p.monitoredObjectId.type, p.monitoredObjectId.instance)}`;
    if (p.cancellationRequest) {
      // Clause 13.14.1.1.1: cancelling an unknown subscription is not an error.
      this.subscriptions.delete(key);
      this.client!.simpleAckResponse(sender, c.service!, c.invokeId!);
      return;
    }
    const object = this.table.get(p.monitoredObjectId.type, p.monitoredObjectId.instance);
    if (!object) throw new BacnetError(ErrorClass.OBJECT, ErrorCode.UNKNOWN_OBJECT);
    if (!object.cov) throw new BacnetError(ErrorClass.OBJECT, ErrorCode.OPTIONAL_FUNCTIONALITY_NOT_SUPPORTED);
    if (!this.subscriptions.has(key) && this.subscriptions.size >= MAX_SUBSCRIPTIONS) {
      throw new BacnetError(ErrorClass.RESOURCES, ErrorCode.NO_SPACE_TO_ADD_LIST_ELEMENT);
    }
    // Lifetime in seconds; 0 means indefinite (clause 13.14.1.1.4). A repeat replaces the old one.
    const sub: Subscription = {
      receiver,
      processId: p.subscriberProcessId,
      object: { type: object.type, instance: object.instance },
      confirmed: p.issueConfirmedNotifications,
      expiresAt: p.lifetime > 0 ? this.realNow() + p.lifetime * 1000 : null,
      last: this.snapshot(object),
    };
    this.subscriptions.set(key, sub);
    this.client!.simpleAckResponse(sender, c.service!, c.invokeId!);
    // Clause 13.14: the initial notification follows the acknowledgement of a subscription.
    this.notify(sub, sub.last);
  }

  /** The Device object answers to its own instance and to the wildcard instance 4194303 (clause 12.11). */
  private resolveDevice(oid: BACNetObjectID): BACnetObjectRef {
    if (oid.type === ObjectType.DEVICE && oid.instance === 4194303) return { type: ObjectType.DEVICE, instance: this.instance };
    return { type: oid.type, instance: oid.instance };
  }

  private snapshot(object: BacnetObject): CovSnapshot {
    return {
      presentValue: this.table.read(object.type, object.instance, P.PRESENT_VALUE),
      statusFlags: this.table.read(object.type, object.instance, P.STATUS_FLAGS),
    };
  }

  private notify(sub: Subscription, values: CovSnapshot): void {
    const client = this.client;
    if (!client) return;
    const timeRemaining = sub.expiresAt === null ? 0 : Math.max(0, Math.round((sub.expiresAt - this.realNow()) / 1000));
    // The library writes a property's array index when it is ARRAY_ALL (inverted test): leave it undefined.
    const list = [
      { property: { id: P.PRESENT_VALUE, index: undefined as unknown as number }, value: values.presentValue },
      { property: { id: P.STATUS_FLAGS, index: undefined as unknown as number }, value: values.statusFlags },
    ];
    const monitored = { type: sub.object.type, instance: sub.object.instance } as BACNetObjectID;
    this.covNotifications++;
    try {
      if (sub.confirmed) {
        client.confirmedCOVNotification(sub.receiver, monitored, sub.processId, this.instance, timeRemaining, list).catch((err: unknown) => {
          // Clause 13.15: an unanswered confirmed notification does not end the subscription.
          this.covUnacknowledged++;
          this.opts.log.debug({ err, receiver: sub.receiver.address }, 'COV notification not acknowledged');
        });
      } else {
        client.unconfirmedCOVNotification(sub.receiver, sub.processId, this.instance, monitored, timeRemaining, list);
      }
    } catch (err) {
      this.opts.log.error({ err }, 'COV notification could not be encoded');
    }
  }
}

function changed(last: CovSnapshot, now: CovSnapshot, increment: number): boolean {
  if (JSON.stringify(last.statusFlags) !== JSON.stringify(now.statusFlags)) return true;
  const a = last.presentValue[0];
  const b = now.presentValue[0];
  if (a?.type === ApplicationTag.REAL && b?.type === ApplicationTag.REAL) return Math.abs(Number(a.value) - Number(b.value)) >= increment;
  return JSON.stringify(last.presentValue) !== JSON.stringify(now.presentValue);
}

/** Clause 12.11: the Device object, with its Object_List computed from the table. */
export function createDeviceObject(device: DeviceIdentity, objects: () => BacnetObject[]): BacnetObject {
  const { instance, name, description, modelName } = device;
  const services = new ServicesSupportedBitString(
    ServicesSupported.READ_PROPERTY,
    ServicesSupported.READ_PROPERTY_MULTIPLE,
    ServicesSupported.WRITE_PROPERTY,
    ServicesSupported.SUBSCRIBE_COV,
    ServicesSupported.WHO_IS,
  );
  const types = () => new ObjectTypesSupportedBitString(...new Set(objects().map((o) => o.type as number)));
  return {
    type: ObjectType.DEVICE,
    instance,
    name,
    description,
    summary: `the device itself: Object_List (array, readable element by element), Protocol_Services_Supported, Max_APDU_Length_Accepted ${MAX_APDU}, no segmentation`,
    properties: withPropertyList([
      ...identity(ObjectType.DEVICE, instance, name, description),
      { id: P.SYSTEM_STATUS, read: () => [enumerated(0)] }, // operational
      { id: P.VENDOR_NAME, read: () => [text('Vigil simulators')] },
      { id: P.VENDOR_IDENTIFIER, read: () => [unsigned(VENDOR_ID)] },
      { id: P.MODEL_NAME, read: () => [text(modelName)] },
      { id: P.FIRMWARE_REVISION, read: () => [text('1.0')] },
      { id: P.APPLICATION_SOFTWARE_VERSION, read: () => [text('1.0')] },
      { id: P.PROTOCOL_VERSION, read: () => [unsigned(1)] },
      { id: P.PROTOCOL_REVISION, read: () => [unsigned(PROTOCOL_REVISION)] },
      { id: P.PROTOCOL_SERVICES_SUPPORTED, read: () => [bits(services)] },
      { id: P.PROTOCOL_OBJECT_TYPES_SUPPORTED, read: () => [bits(types())] },
      { id: P.OBJECT_LIST, array: true, read: () => objects().map((o) => objectId(o.type, o.instance)) },
      { id: P.MAX_APDU_LENGTH_ACCEPTED, read: () => [unsigned(MAX_APDU)] },
      { id: P.SEGMENTATION_SUPPORTED, read: () => [enumerated(Segmentation.NO_SEGMENTATION)] },
      { id: P.APDU_TIMEOUT, read: () => [unsigned(3000)] },
      { id: P.NUMBER_OF_APDU_RETRIES, read: () => [unsigned(3)] },
      { id: P.DEVICE_ADDRESS_BINDING, read: () => [] },
      { id: P.DATABASE_REVISION, read: () => [unsigned(1)] },
    ]),
  };
}
