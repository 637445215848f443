/**
 * The UDP side of a simulated BACnet/IP device, handed to @bacnet-js/client as its `transport`.
 *
 * Why our own: the library drops bad packets without a trace, replies with segments it cannot send,
 * and broadcasts by default. This transport binds the device's own address, checks every datagram's
 * headers first (frame.ts), counts what it drops, answers services we do not serve with a Reject,
 * never broadcasts, and goes silent on a comm-loss fault.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { encodeRejectOrAbort, parseFrame, type Frame, type Route } from './frame.ts';

/** Clause J.1: the BACnet/IP default port; the library leaves it out of addresses. */
export const DEFAULT_BACNET_PORT = 47808;
/** Clause 20.1.2.5 and Annex J: the largest APDU on BACnet/IP; we never segment. */
export const MAX_APDU = 1476;

/** Clause 20.1.8/20.1.9 reason codes we send. */
export const REJECT_OTHER = 0;
export const REJECT_UNRECOGNIZED_SERVICE = 9;
export const ABORT_SEGMENTATION_NOT_SUPPORTED = 4;

export interface TransportCounters {
  /** Datagrams received. */
  received: number;
  /** Bad BVLL/NPDU/APDU headers, or service data the library could not decode: dropped. */
  malformed: number;
  /** Requests answered with a Reject (unserved service, undecodable request). */
  rejected: number;
  /** Requests answered with an Abort (segmented request, answer longer than one APDU). */
  aborted: number;
  /** Valid but not for us (network-layer messages, BDT/FDT functions, other unconfirmed services). */
  notServed: number;
  /** Datagrams received or sends dropped while the comm-loss fault is active. */
  silenced: number;
  /** Datagrams sent. */
  sent: number;
}

/** The confirmed request being handled right now (the library calls our handlers synchronously). */
interface CurrentRequest {
  frame: Extract<Frame, { kind: 'confirmed' }>;
  address: string;
  handled: boolean;
  /** Set when the answer did not fit the requester's Max_APDU_Length_Accepted. */
  overflow: boolean;
}

export interface GuardedTransportOptions {
  host: string;
  port: number;
  log: Logger;
  /** Confirmed service choices answered; the others get Reject unrecognized-service (20.1.8). */
  confirmedServices: () => ReadonlySet<number>;
  /** Unconfirmed service choices passed on (Who-Is). */
  unconfirmedServices: ReadonlySet<number>;
}

export class GuardedTransport extends EventEmitter {
  readonly counters: TransportCounters = { received: 0, malformed: 0, rejected: 0, aborted: 0, notServed: 0, silenced: 0, sent: 0 };
  /** The comm-loss fault: nothing in, nothing out. */
  silent = false;
  private readonly socket: Socket;
  private current: CurrentRequest | null = null;
  private readonly loggedSources = new Set<string>();

  constructor(private readonly opts: GuardedTransportOptions) {
    super();
    this.socket = createSocket({ type: 'udp4', reuseAddr: false });
    this.socket.on('message', (msg, rinfo) => this.receive(msg, rinfo));
    // A send error (e.g. the requester's port closed) must not end the process.
    this.socket.on('error', (err) => this.opts.log.warn({ err }, 'BACnet socket error'));
  }

  /** Binds the device's address; rejects when the port is taken. */
  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.bind(this.opts.port, this.opts.host, () => {
        this.socket.off('error', reject);
        resolve();
      });
    });
    this.emit('listening', this.socket.address());
  }

  // --- the interface @bacnet-js/client expects of a transport ---

  /** Bound already by listen(). */
  open(): void {}

  /** No broadcast ever leaves a simulator: an empty address makes send() drop the datagram. */
  getBroadcastAddress(): string {
    return '';
  }

  /** The library sizes its buffers with this and puts it in I-Am as Max_APDU_Length_Accepted. */
  getMaxPayload(): number {
    return MAX_APDU;
  }

  send(buffer: Buffer, length: number, receiver?: string): void {
    const current = this.current;
    if (length > buffer.length || (current && apduLength(buffer, length) > current.frame.maxApdu)) {
      // The library wrote past its buffer or past what the requester accepts: never send it.
      if (current) current.overflow = true;
      return;
    }
    if (!receiver) return;
    this.sendRaw(buffer.subarray(0, length), receiver);
  }

  close(): void {
    try {
      this.socket.close();
    } catch {
      // closed already
    }
  }

  // --- for the device server ---

  /** The handler of the current request has answered (or deliberately will not). */
  markHandled(): void {
    if (this.current) this.current.handled = true;
  }

  /** Runs an answer; reports whether it fitted in one APDU (else it was not sent). */
  answerFits(send: () => void): boolean {
    const current = this.current;
    if (current) current.overflow = false;
    try {
      send();
    } catch (err) {
      // The library's encoder throws a RangeError when it writes past its 1476-byte buffer.
      if (!(err instanceof RangeError)) throw err;
      if (current) current.overflow = true;
    }
    return !current?.overflow;
  }

  /** Abort segmentation-not-supported for the current request (an answer that needs segments). */
  abortCurrent(reason = ABORT_SEGMENTATION_NOT_SUPPORTED): void {
    const current = this.current;
    if (!current) return;
    this.counters.aborted++;
    this.sendRaw(encodeRejectOrAbort('abort', current.frame.invokeId, reason, current.frame.route), current.address);
  }

  private reject(invokeId: number, reason: number, route: Route | null, address: string): void {
    this.counters.rejected++;
    this.sendRaw(encodeRejectOrAbort('reject', invokeId, reason, route), address);
  }

  private sendRaw(datagram: Buffer, receiver: string): void {
    if (this.silent) {
      this.counters.silenced++;
      return;
    }
    const [host, port] = splitAddress(receiver);
    this.counters.sent++;
    this.socket.send(datagram, port, host);
  }

  private receive(msg: Buffer, rinfo: RemoteInfo): void {
    this.counters.received++;
    if (this.silent) {
      this.counters.silenced++;
      return;
    }
    // Always with the port: the library ignores requests "from 127.0.0.1" (its own broadcasts on 47808).
    const address = `${rinfo.address}:${rinfo.port}`;
    const frame = parseFrame(msg);
    if (!frame.ok) return this.malformed(address, frame.reason);
    switch (frame.kind) {
      case 'not-served':
        this.counters.notServed++;
        return;
      case 'answer':
        return this.deliver(msg, address, null);
      case 'unconfirmed':
        if (!this.opts.unconfirmedServices.has(frame.service)) {
          this.counters.notServed++;
          return;
        }
        return this.deliver(msg, address, null);
      case 'confirmed':
        if (frame.segmented) {
          this.current = { frame, address, handled: true, overflow: false };
          this.abortCurrent();
          this.current = null;
          return;
        }
        if (!this.opts.confirmedServices().has(frame.service)) {
          return this.reject(frame.invokeId, REJECT_UNRECOGNIZED_SERVICE, frame.route, address);
        }
        return this.deliver(msg, address, { frame, address, handled: false, overflow: false });
    }
  }

  /** Hands a sound datagram to the library; a request no handler took could not be decoded. */
  private deliver(msg: Buffer, address: string, request: CurrentRequest | null): void {
    this.current = request;
    let decoded = true;
    try {
      this.emit('message', msg, address);
    } catch (err) {
      decoded = false;
      this.opts.log.debug({ err, address }, 'BACnet library failed on a datagram');
    } finally {
      this.current = null;
    }
    if (request && (!decoded || !request.handled)) {
      this.malformed(address, 'service request could not be decoded');
      // Clause 18.8 (Reject): a confirmed request that cannot be parsed is rejected, not left to time out.
      this.reject(request.frame.invokeId, REJECT_OTHER, request.frame.route, address);
    } else if (!decoded) {
      this.malformed(address, 'datagram could not be decoded');
    }
  }

  private malformed(address: string, reason: string): void {
    this.counters.malformed++;
    // Once per source: a flood of garbage must not flood the log as well.
    if (this.loggedSources.size < 1000 && !this.loggedSources.has(address)) {
      this.loggedSources.add(address);
      this.opts.log.warn({ source: address, reason }, 'malformed BACnet packet ignored (logged once per source)');
    }
  }
}

/** "127.0.0.1:47901" → ['127.0.0.1', 47901]; a bare host means the default port. */
export function splitAddress(address: string): [string, number] {
  const [host, port] = address.split(':');
  return [host ?? '', port ? Number(port) : DEFAULT_BACNET_PORT];
}

/** The APDU length of an encoded BACnet/IP datagram (after BVLL and NPDU headers). */
function apduLength(datagram: Buffer, length: number): number {
  const bvll = datagram[1] === 0x04 ? 10 : 4;
  const control = datagram[bvll + 1] ?? 0;
  let npdu = 2;
  if (control & 0x20) npdu += 3 + (datagram[bvll + npdu + 2] ?? 0);
  if (control & 0x08) npdu += 3 + (datagram[bvll + npdu + 2] ?? 0);
  if (control & 0x20) npdu += 1; // hop count
  return length - bvll - npdu;
}
