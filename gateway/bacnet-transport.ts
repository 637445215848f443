/**
 * The gateway's BACnet/IP socket, handed to @bacnet-js/client as its `transport`.
 *
 * Why our own (LIBRARIES.md, "BACnet"): the library's transport binds 0.0.0.0 and broadcasts to
 * 255.255.255.255 by default, treats port 0 as 47808, and an exception thrown while it decodes a
 * datagram escapes from the socket's 'message' handler and ends the process. This one binds the
 * interface it is given (port 0 here really is an ephemeral port: we bind the socket ourselves),
 * broadcasts only to an address a deployment named, catches whatever the decoder throws, and drops
 * a reply whose invoke id was not sent to the address it came from (the library matches replies by
 * invoke id alone, so a device answering garbage could otherwise complete another device's request).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';

/** Clause J.1: the BACnet/IP default port. */
export const DEFAULT_BACNET_PORT = 47808;
/** Annex J: the largest BACnet/IP datagram payload the library's buffers hold. */
const MAX_PAYLOAD = 1482;

export interface BacnetTransportOptions {
  /** The interface address to bind, e.g. 127.0.0.1. */
  interface: string;
  /** UDP port; 0 lets the system choose (an ephemeral port). */
  port: number;
  /** `host:port` for a broadcast Who-Is; unset: the transport never broadcasts. */
  broadcastAddress?: string;
  log: Logger;
}

export interface BacnetTransportCounters {
  received: number;
  sent: number;
  /** Datagrams the library could not decode (it threw): dropped. */
  undecodable: number;
  /** Replies whose invoke id was not outstanding towards their sender: dropped. */
  stray: number;
  /** Sends refused: a broadcast with no broadcast address configured. */
  refused: number;
}

/** PDU types (clause 20.1): the high nibble of the first APDU octet. */
const PDU = { confirmedRequest: 0, unconfirmedRequest: 1, simpleAck: 2, complexAck: 3, segmentAck: 4, error: 5, reject: 6, abort: 7 } as const;

/**
 * Where the APDU starts in a BACnet/IP datagram (BVLL Annex J, NPDU clause 6.2), or -1 for a
 * network-layer message or a frame too short to hold one.
 */
export function apduOffset(buf: Buffer): number {
  if (buf.length < 6 || buf[0] !== 0x81) return -1;
  // Forwarded-NPDU (0x04) carries the originator's 6-octet B/IP address after the 4-octet BVLL header.
  let at = buf[1] === 0x04 ? 10 : 4;
  if (buf.length < at + 2 || buf[at] !== 0x01) return -1;
  const control = buf[at + 1]!;
  at += 2;
  if (control & 0x80) return -1; // network-layer message
  if (control & 0x20) {
    // DNET(2) DLEN(1) DADR(DLEN)
    if (buf.length < at + 3) return -1;
    at += 3 + buf[at + 2]!;
  }
  if (control & 0x08) {
    // SNET(2) SLEN(1) SADR(SLEN)
    if (buf.length < at + 3) return -1;
    at += 3 + buf[at + 2]!;
  }
  if (control & 0x20) at += 1; // hop count
  return at < buf.length ? at : -1;
}

/** The PDU type and invoke id of a datagram's APDU, when it has one. */
export function apduHeader(buf: Buffer): { type: number; invokeId: number | null; service: number | null } | null {
  const at = apduOffset(buf);
  if (at < 0) return null;
  const type = buf[at]! >> 4;
  if (type === PDU.confirmedRequest) {
    // type/flags, max segments/APDU, invoke id, [sequence, window when segmented], service choice
    const segmented = (buf[at]! & 0x08) !== 0;
    return { type, invokeId: buf[at + 2] ?? null, service: buf[at + (segmented ? 5 : 3)] ?? null };
  }
  if (type === PDU.unconfirmedRequest) return { type, invokeId: null, service: buf[at + 1] ?? null };
  return { type, invokeId: buf[at + 1] ?? null, service: null };
}

export const isReplyPdu = (type: number) => type >= PDU.simpleAck && type <= PDU.abort;
export const BACNET_PDU = PDU;

export class BacnetTransport extends EventEmitter {
  readonly counters: BacnetTransportCounters = { received: 0, sent: 0, undecodable: 0, stray: 0, refused: 0 };
  private readonly socket: Socket;
  /** invoke id → the address our confirmed request with that id went to. */
  private readonly outstanding = new Map<number, string>();
  private readonly loggedSources = new Set<string>();
  private bound: { address: string; port: number } | null = null;

  constructor(private readonly opts: BacnetTransportOptions) {
    super();
    this.socket = createSocket({ type: 'udp4', reuseAddr: false });
    this.socket.on('message', (msg, rinfo) => this.receive(msg, rinfo));
    // A send error (an ICMP port unreachable from a device that went away) must not end the process.
    this.socket.on('error', (err) => this.opts.log.debug({ err: err.message }, 'BACnet socket error'));
    this.socket.on('close', () => this.emit('close'));
  }

  /** The address actually bound (after 'listening'). */
  get address(): { address: string; port: number } | null {
    return this.bound;
  }

  // ── the library's transport interface ─────────────────────────────────────────────────────

  open(): void {
    this.socket.once('error', (err) => this.emit('error', err));
    this.socket.bind(this.opts.port, this.opts.interface, () => {
      const { address, port } = this.socket.address();
      this.bound = { address, port };
      if (this.opts.broadcastAddress) this.socket.setBroadcast(true);
      this.emit('listening', this.bound);
    });
  }

  getBroadcastAddress(): string | null {
    return this.opts.broadcastAddress ?? null;
  }

  getMaxPayload(): number {
    return MAX_PAYLOAD;
  }

  send(buffer: Buffer, offset: number, receiver?: string): void {
    const target = receiver ?? this.opts.broadcastAddress;
    if (!target) {
      // NETWORK SAFETY (DESIGN.md, "Loopback only"): no configured broadcast address, no broadcast.
      this.counters.refused++;
      this.opts.log.warn('refused a BACnet broadcast: no broadcast address is configured (discover by unicast)');
      return;
    }
    const [host, portText] = splitAddress(target);
    const data = Buffer.from(buffer.subarray(0, offset));
    const header = apduHeader(data);
    if (header?.type === PDU.confirmedRequest && header.invokeId !== null) this.outstanding.set(header.invokeId, `${host}:${portText}`);
    this.counters.sent++;
    this.socket.send(data, Number(portText), host, (err) => {
      if (err) this.opts.log.debug({ err: err.message, target }, 'BACnet send failed');
    });
  }

  close(): void {
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }

  // ── receiving ─────────────────────────────────────────────────────────────────────────────

  private receive(msg: Buffer, rinfo: RemoteInfo): void {
    this.counters.received++;
    // Always `host:port`: the library mistakes a port-less 127.0.0.1 for its own broadcasts.
    const from = `${rinfo.address}:${rinfo.port}`;
    const header = apduHeader(msg);
    if (header && isReplyPdu(header.type) && header.invokeId !== null) {
      if (this.outstanding.get(header.invokeId) !== from) {
        this.counters.stray++;
        this.logOnce(from, 'dropped a BACnet reply to a request that was not sent to its sender');
        return;
      }
      // A segmented answer keeps its id until the last segment; the library times the request out anyway.
      if (header.type !== PDU.complexAck || (msg[apduOffset(msg)]! & 0x04) === 0) this.outstanding.delete(header.invokeId);
    }
    try {
      this.emit('message', msg, from);
    } catch (err) {
      // The library threw while decoding (LIBRARIES.md): the datagram is dropped, the gateway lives on.
      this.counters.undecodable++;
      this.logOnce(from, 'dropped a BACnet datagram the library could not decode', err);
    }
  }

  private logOnce(from: string, message: string, err?: unknown): void {
    if (this.loggedSources.has(`${from}|${message}`)) return;
    this.loggedSources.add(`${from}|${message}`);
    this.opts.log.warn({ from, err: err instanceof Error ? err.message : err }, `${message} (logged once per source)`);
  }
}

/** `host:port` → [host, port]; a bare host means the default port. */
export function splitAddress(address: string): [string, string] {
  const i = address.lastIndexOf(':');
  if (i < 0) return [address, String(DEFAULT_BACNET_PORT)];
  return [address.slice(0, i), address.slice(i + 1)];
}
