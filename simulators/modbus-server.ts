/**
 * A small, spec-exact Modbus TCP server (Modbus Application Protocol v1.1b, "MBAP" below from
 * Modbus Messaging on TCP/IP Implementation Guide v1.0b). modbus-serial's ServerTCP answers
 * several malformed requests wrongly (LIBRARIES.md), and gateways are tested against this one.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { ModbusException, ModbusExceptionCode as X, type BitTable, type RegisterBank, type RegisterTable } from './register-bank.ts';

/** MBAP header: transaction id (2), protocol id (2), length (2), unit id (1). */
const MBAP_BYTES = 7;
/** The length field counts the unit id and the PDU; a PDU is at most 253 bytes (v1.1b §4.1). */
const MIN_LENGTH = 2;
const MAX_LENGTH = 254;

/** Quantity limits of v1.1b §6.1–§6.4, §6.11, §6.12. */
const MAX_READ_BITS = 2000;
const MAX_READ_REGISTERS = 125;
const MAX_WRITE_COILS = 1968;
const MAX_WRITE_REGISTERS = 123;
/** Replies queued for a client that does not read them, before it is cut off. */
const MAX_UNREAD_REPLY_BYTES = 1 << 20;

export interface ModbusTcpServerOptions {
  host: string;
  port: number;
  /** The unit id served; 0xFF is answered too. */
  unit: number;
  bank: RegisterBank;
  log: Logger;
  /** Concurrent client connections accepted (default 32). */
  maxConnections?: number;
}

export interface ModbusServerCounters {
  /** TCP connections accepted. */
  connections: number;
  /** Requests answered (normal or exception responses). */
  requests: number;
  /** Exception responses sent. */
  exceptions: number;
  /** Frames discarded for a bad MBAP header (protocol id ≠ 0, length outside 2–254). */
  badFrames: number;
  /** Frames for a unit id this server does not serve: ignored. */
  otherUnit: number;
  /** Requests not answered because the server is silenced (a simulated "no response" fault). */
  unanswered: number;
}

const fail = (code: number, message: string): never => {
  throw new ModbusException(code, message);
};

export class ModbusTcpServer {
  readonly counters: ModbusServerCounters = { connections: 0, requests: 0, exceptions: 0, badFrames: 0, otherUnit: 0, unanswered: 0 };
  /** While true, well-formed requests are read and dropped without an answer (the device "hangs"). */
  silent = false;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  /** Sources already warned about, so a noisy client is logged once (DESIGN.md, "Bus topics"). */
  private readonly warned = new Set<string>();
  private readonly log: Logger;

  constructor(private readonly opts: ModbusTcpServerOptions) {
    this.log = opts.log;
    this.server = createServer((socket) => this.accept(socket));
    this.server.maxConnections = opts.maxConnections ?? 32;
  }

  /** The bound port (useful when the options named a port the OS chose). */
  get port(): number {
    const address = this.server.address();
    return address && typeof address === 'object' ? address.port : this.opts.port;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(new Error(`Modbus server cannot listen on ${this.opts.host}:${this.opts.port}: ${err.message}`));
      this.server.once('error', onError);
      this.server.listen({ host: this.opts.host, port: this.opts.port }, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    // After start-up, a server error (rare: e.g. EMFILE on accept) is logged, never thrown.
    this.server.on('error', (err) => this.log.error({ err }, 'Modbus server error'));
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    this.counters.connections++;
    this.sockets.add(socket);
    const source = socket.remoteAddress ?? 'unknown';
    socket.setNoDelay(true);
    socket.on('error', (err) => this.log.debug({ err, source }, 'Modbus connection error'));
    socket.on('close', () => this.sockets.delete(socket));
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      try {
        pending = this.receive(socket, source, pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk);
      } catch (err) {
        // Nothing a client sends may take the process down: drop this connection only.
        this.log.error({ err, source }, 'Modbus connection failed; closed');
        socket.destroy();
      }
    });
  }

  /** Answers every whole frame in `pending`; returns the bytes of an incomplete frame. */
  private receive(socket: Socket, source: string, pending: Buffer): Buffer {
    const replies: Buffer[] = [];
    // One TCP chunk may carry several frames, and a frame may span chunks: frame by the length field.
    while (pending.length >= MBAP_BYTES) {
      const transaction = pending.readUInt16BE(0);
      const protocol = pending.readUInt16BE(2);
      const length = pending.readUInt16BE(4);
      if (length < MIN_LENGTH || length > MAX_LENGTH) {
        // The length field is the only framing on TCP (MBAP §3.1.3): once it is wrong the next
        // frame boundary is unknown, so the frame is discarded with the connection.
        this.badFrame(source, `MBAP length ${length} outside ${MIN_LENGTH}-${MAX_LENGTH}`);
        if (replies.length > 0) socket.write(Buffer.concat(replies));
        socket.destroy();
        return Buffer.alloc(0);
      }
      if (pending.length < 6 + length) break;
      const frame = pending.subarray(0, 6 + length);
      pending = pending.subarray(6 + length);
      if (protocol !== 0) {
        // MBAP §3.1.3: protocol identifier 0 is MODBUS; anything else is discarded unanswered.
        this.badFrame(source, `MBAP protocol id ${protocol}`);
        continue;
      }
      const unit = frame[6]!;
      // MBAP guide (unit identifier): on TCP a server is addressed by its IP address, 0xFF is the unit id
      // to use; a frame for another unit id (a device behind a gateway we are not) is ignored
      // silently, as a serial slave ignores frames for other addresses.
      if (unit !== this.opts.unit && unit !== 0xff) {
        this.counters.otherUnit++;
        continue;
      }
      if (this.silent) {
        this.counters.unanswered++;
        continue;
      }
      replies.push(this.frameReply(transaction, unit, this.answer(frame.subarray(MBAP_BYTES))));
    }
    if (replies.length > 0 && !socket.destroyed) socket.write(Buffer.concat(replies));
    if (socket.writableLength > MAX_UNREAD_REPLY_BYTES) {
      // A client that sends requests but never reads the answers would grow our memory without bound.
      this.log.warn({ source, port: this.opts.port }, 'Modbus client does not read its replies; connection closed');
      socket.destroy();
    }
    // Copy the rest of an incomplete frame, so it does not pin the whole chunk it came in.
    return Buffer.from(pending);
  }

  private badFrame(source: string, reason: string): void {
    this.counters.badFrames++;
    if (this.warned.has(source)) return;
    if (this.warned.size < 1000) this.warned.add(source);
    this.log.warn({ source, reason, port: this.opts.port }, 'Modbus frame discarded (further ones from this source are counted, not logged)');
  }

  private frameReply(transaction: number, unit: number, pdu: Buffer): Buffer {
    const header = Buffer.alloc(MBAP_BYTES);
    header.writeUInt16BE(transaction, 0);
    header.writeUInt16BE(0, 2);
    header.writeUInt16BE(pdu.length + 1, 4);
    header.writeUInt8(unit, 6);
    return Buffer.concat([header, pdu]);
  }

  /** Answers one PDU; never throws. */
  private answer(pdu: Buffer): Buffer {
    this.counters.requests++;
    const fc = pdu[0]!;
    try {
      switch (fc) {
        case 0x01:
          return this.readBits(pdu, 'coil');
        case 0x02:
          return this.readBits(pdu, 'discrete');
        case 0x03:
          return this.readRegisters(pdu, 'holding');
        case 0x04:
          return this.readRegisters(pdu, 'input');
        case 0x05:
          return this.writeSingleCoil(pdu);
        case 0x06:
          return this.writeSingleRegister(pdu);
        case 0x0f:
          return this.writeMultipleCoils(pdu);
        case 0x10:
          return this.writeMultipleRegisters(pdu);
        default:
          return fail(X.IllegalFunction, `function code ${fc} not supported`);
      }
    } catch (err) {
      this.counters.exceptions++;
      // §7: the exception response echoes the function code with its high bit set.
      if (err instanceof ModbusException) return Buffer.from([(fc | 0x80) & 0xff, err.exceptionCode]);
      // A fault in a device model must not take the server down: §7 exception 4.
      this.log.error({ err, fc }, 'register bank failed; answered exception 4');
      return Buffer.from([(fc | 0x80) & 0xff, X.ServerDeviceFailure]);
    }
  }

  /** §6.1 / §6.2 (FC 1, 2): quantity 1–2000, then the address range. */
  private readBits(pdu: Buffer, table: BitTable): Buffer {
    // §7 exception 3 also covers "the implied length is incorrect".
    if (pdu.length !== 5) fail(X.IllegalDataValue, `read PDU of ${pdu.length} bytes`);
    const address = pdu.readUInt16BE(1);
    const quantity = pdu.readUInt16BE(3);
    if (quantity < 1 || quantity > MAX_READ_BITS) fail(X.IllegalDataValue, `quantity ${quantity}`);
    this.checkRange(table, address, quantity);
    const bits = this.opts.bank.readBits(table, address, quantity);
    const out = Buffer.alloc(2 + Math.ceil(quantity / 8));
    out[0] = pdu[0]!;
    out[1] = out.length - 2;
    // The first bit goes to the least significant bit of the first data byte.
    bits.forEach((bit, i) => {
      if (bit) out[2 + (i >> 3)]! |= 1 << (i & 7);
    });
    return out;
  }

  /** §6.3 / §6.4 (FC 3, 4): quantity 1–125, then the address range. */
  private readRegisters(pdu: Buffer, table: RegisterTable): Buffer {
    if (pdu.length !== 5) fail(X.IllegalDataValue, `read PDU of ${pdu.length} bytes`);
    const address = pdu.readUInt16BE(1);
    const quantity = pdu.readUInt16BE(3);
    if (quantity < 1 || quantity > MAX_READ_REGISTERS) fail(X.IllegalDataValue, `quantity ${quantity}`);
    this.checkRange(table, address, quantity);
    const values = this.opts.bank.readRegisters(table, address, quantity);
    const out = Buffer.alloc(2 + 2 * quantity);
    out[0] = pdu[0]!;
    out[1] = 2 * quantity;
    values.forEach((v, i) => out.writeUInt16BE(v & 0xffff, 2 + 2 * i));
    return out;
  }

  /** §6.5 (FC 5): value 0x0000 or 0xFF00; the normal response echoes the request. */
  private writeSingleCoil(pdu: Buffer): Buffer {
    if (pdu.length !== 5) fail(X.IllegalDataValue, `write PDU of ${pdu.length} bytes`);
    const address = pdu.readUInt16BE(1);
    const value = pdu.readUInt16BE(3);
    if (value !== 0x0000 && value !== 0xff00) fail(X.IllegalDataValue, `coil value 0x${value.toString(16)}`);
    this.checkRange('coil', address, 1);
    this.opts.bank.writeCoils(address, [value === 0xff00]);
    return Buffer.from(pdu);
  }

  /** §6.6 (FC 6): the normal response echoes the request. */
  private writeSingleRegister(pdu: Buffer): Buffer {
    if (pdu.length !== 5) fail(X.IllegalDataValue, `write PDU of ${pdu.length} bytes`);
    const address = pdu.readUInt16BE(1);
    this.checkRange('holding', address, 1);
    this.opts.bank.writeHoldingRegisters(address, [pdu.readUInt16BE(3)]);
    return Buffer.from(pdu);
  }

  /** §6.11 (FC 15): quantity 1–1968 and byte count = ⌈quantity / 8⌉, then the address range. */
  private writeMultipleCoils(pdu: Buffer): Buffer {
    if (pdu.length < 7) fail(X.IllegalDataValue, `write PDU of ${pdu.length} bytes`);
    const address = pdu.readUInt16BE(1);
    const quantity = pdu.readUInt16BE(3);
    const byteCount = pdu[5]!;
    if (quantity < 1 || quantity > MAX_WRITE_COILS || byteCount !== Math.ceil(quantity / 8) || pdu.length !== 6 + byteCount)
      fail(X.IllegalDataValue, `quantity ${quantity}, byte count ${byteCount}, PDU of ${pdu.length} bytes`);
    this.checkRange('coil', address, quantity);
    const values = Array.from({ length: quantity }, (_, i) => ((pdu[6 + (i >> 3)]! >> (i & 7)) & 1) === 1);
    this.opts.bank.writeCoils(address, values);
    return Buffer.from(pdu.subarray(0, 5));
  }

  /** §6.12 (FC 16): quantity 1–123 and byte count = 2 × quantity, then the address range. */
  private writeMultipleRegisters(pdu: Buffer): Buffer {
    if (pdu.length < 8) fail(X.IllegalDataValue, `write PDU of ${pdu.length} bytes`);
    const address = pdu.readUInt16BE(1);
    const quantity = pdu.readUInt16BE(3);
    const byteCount = pdu[5]!;
    if (quantity < 1 || quantity > MAX_WRITE_REGISTERS || byteCount !== 2 * quantity || pdu.length !== 6 + byteCount)
      fail(X.IllegalDataValue, `quantity ${quantity}, byte count ${byteCount}, PDU of ${pdu.length} bytes`);
    this.checkRange('holding', address, quantity);
    const values = Array.from({ length: quantity }, (_, i) => pdu.readUInt16BE(6 + 2 * i));
    this.opts.bank.writeHoldingRegisters(address, values);
    return Buffer.from(pdu.subarray(0, 5));
  }

  /** §7 exception 2: the whole range (start + quantity) must lie inside the table. */
  private checkRange(table: BitTable | RegisterTable, address: number, quantity: number): void {
    if (address + quantity > this.opts.bank.size(table)) fail(X.IllegalDataAddress, `${table} ${address}+${quantity} outside 0-${this.opts.bank.size(table) - 1}`);
  }
}
