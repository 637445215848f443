import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { freePort, eventually } from '../testing/index.ts';
import { ModbusTcpServer, MemoryRegisterBank, type RegisterBank } from './index.ts';

const log = pino({ level: 'silent' });
const UNIT = 1;

/** A raw Modbus TCP client: sends bytes as given and reads whole MBAP frames back. */
class RawClient {
  private buffered = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  closed = false;
  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      this.waiter?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    socket.on('error', () => undefined);
  }
  static async open(port: number): Promise<RawClient> {
    const socket = connect({ host: '127.0.0.1', port });
    await once(socket, 'connect');
    return new RawClient(socket);
  }
  send(bytes: Buffer | number[]): void {
    this.socket.write(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
  }
  /** The next whole reply frame, or null when none comes within `timeoutMs` (or the peer closed). */
  async reply(timeoutMs = 500): Promise<Buffer | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.buffered.length >= 6) {
        const total = 6 + this.buffered.readUInt16BE(4);
        if (this.buffered.length >= total) {
          const frame = this.buffered.subarray(0, total);
          this.buffered = this.buffered.subarray(total);
          return frame;
        }
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.closed) return null;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
  }
  /** The PDU of the next reply, checking that it answers `transaction`. */
  async pdu(transaction: number): Promise<number[]> {
    const frame = await this.reply();
    expect(frame, 'a reply').not.toBeNull();
    expect(frame!.readUInt16BE(0)).toBe(transaction);
    expect(frame!.readUInt16BE(2)).toBe(0);
    return [...frame!.subarray(7)];
  }
  close(): void {
    this.socket.destroy();
  }
}

/** An MBAP frame around `pdu` (Messaging on TCP/IP v1.0b §3.1.3). */
function frame(transaction: number, pdu: number[], opts: { unit?: number; protocol?: number; length?: number } = {}): Buffer {
  const header = Buffer.alloc(7);
  header.writeUInt16BE(transaction, 0);
  header.writeUInt16BE(opts.protocol ?? 0, 2);
  header.writeUInt16BE(opts.length ?? pdu.length + 1, 4);
  header.writeUInt8(opts.unit ?? UNIT, 6);
  return Buffer.concat([header, Buffer.from(pdu)]);
}
const u16 = (v: number) => [v >> 8, v & 0xff];

describe('ModbusTcpServer (Modbus Application Protocol v1.1b, Messaging on TCP/IP v1.0b)', () => {
  let server: ModbusTcpServer;
  let bank: MemoryRegisterBank;
  let port: number;
  let client: RawClient;
  let transaction = 0;
  /** Sends one request PDU and returns the reply PDU. */
  const ask = async (pdu: number[], unit = UNIT) => {
    const t = ++transaction;
    client.send(frame(t, pdu, { unit }));
    return client.pdu(t);
  };

  beforeAll(async () => {
    bank = new MemoryRegisterBank({ coils: 8, discreteInputs: 8, holdingRegisters: 16, inputRegisters: 16 });
    bank.holding.set([100, 200, 300]);
    bank.input.set([7, 8]);
    bank.discreteInputs[0] = true;
    bank.discreteInputs[3] = true;
    port = await freePort();
    server = new ModbusTcpServer({ host: '127.0.0.1', port, unit: UNIT, bank, log });
    await server.listen();
    client = await RawClient.open(port);
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  it('reads holding and input registers (FC 3, 4) and bits (FC 1, 2)', async () => {
    expect(await ask([0x03, ...u16(0), ...u16(3)])).toEqual([0x03, 6, 0, 100, 0, 200, 1, 44]);
    expect(await ask([0x04, ...u16(1), ...u16(1)])).toEqual([0x04, 2, 0, 8]);
    // §6.2: the first input goes to the least significant bit.
    expect(await ask([0x02, ...u16(0), ...u16(8)])).toEqual([0x02, 1, 0b0000_1001]);
    expect(await ask([0x01, ...u16(0), ...u16(3)])).toEqual([0x01, 1, 0]);
    // The whole bank can be read at once: the last register is in range.
    expect((await ask([0x03, ...u16(0), ...u16(16)])).length).toBe(2 + 32);
  });

  it('writes coils and registers (FC 5, 6, 15, 16) with the replies of §6.5, §6.6, §6.11, §6.12', async () => {
    expect(await ask([0x05, ...u16(2), 0xff, 0x00])).toEqual([0x05, 0, 2, 0xff, 0x00]);
    expect(bank.coils[2]).toBe(true);
    expect(await ask([0x06, ...u16(9), ...u16(0xbeef)])).toEqual([0x06, 0, 9, 0xbe, 0xef]);
    expect(bank.holding[9]).toBe(0xbeef);
    expect(await ask([0x0f, ...u16(4), ...u16(4), 1, 0b0101])).toEqual([0x0f, 0, 4, 0, 4]);
    expect(bank.coils.slice(4, 8)).toEqual([true, false, true, false]);
    expect(await ask([0x10, ...u16(10), ...u16(2), 4, ...u16(1), ...u16(2)])).toEqual([0x10, 0, 10, 0, 2]);
    expect(await ask([0x03, ...u16(9), ...u16(3)])).toEqual([0x03, 6, 0xbe, 0xef, 0, 1, 0, 2]);
  });

  it('answers exception 1 for an unsupported function code, whatever the PDU length', async () => {
    expect(await ask([0x2b, 0x0e, 0x01, 0x00])).toEqual([0xab, 1]); // FC 43 read device id: not served
    expect(await ask([0x07])).toEqual([0x87, 1]);
    expect(await ask([0x08, 0, 0, 0x12, 0x34])).toEqual([0x88, 1]);
  });

  it('answers exception 2 for an address range outside the bank', async () => {
    expect(await ask([0x03, ...u16(15), ...u16(2)])).toEqual([0x83, 2]);
    expect(await ask([0x03, ...u16(16), ...u16(1)])).toEqual([0x83, 2]);
    expect(await ask([0x04, ...u16(0xffff), ...u16(1)])).toEqual([0x84, 2]);
    expect(await ask([0x01, ...u16(8), ...u16(1)])).toEqual([0x81, 2]);
    expect(await ask([0x02, ...u16(0), ...u16(9)])).toEqual([0x82, 2]);
    expect(await ask([0x05, ...u16(8), 0xff, 0x00])).toEqual([0x85, 2]);
    expect(await ask([0x06, ...u16(16), 0, 1])).toEqual([0x86, 2]);
    expect(await ask([0x0f, ...u16(7), ...u16(2), 1, 3])).toEqual([0x8f, 2]);
    expect(await ask([0x10, ...u16(15), ...u16(2), 4, 0, 1, 0, 2])).toEqual([0x90, 2]);
  });

  it('answers exception 3 for a bad quantity, value or byte count (checked before the address)', async () => {
    expect(await ask([0x03, ...u16(0), ...u16(0)])).toEqual([0x83, 3]);
    expect(await ask([0x03, ...u16(0), ...u16(126)])).toEqual([0x83, 3]);
    expect(await ask([0x04, ...u16(0), ...u16(200)])).toEqual([0x84, 3]);
    expect(await ask([0x01, ...u16(0), ...u16(2001)])).toEqual([0x81, 3]);
    expect(await ask([0x02, ...u16(0), ...u16(0)])).toEqual([0x82, 3]);
    expect(await ask([0x05, ...u16(0), 0x12, 0x34])).toEqual([0x85, 3]);
    // Write limits: 1968 coils, 123 registers.
    const coils1969 = Array<number>(247).fill(0);
    expect(await ask([0x0f, ...u16(0), ...u16(1969), 247, ...coils1969])).toEqual([0x8f, 3]);
    // 124 registers cannot fit a 253-byte PDU (§4.1), so the largest frame that claims them is sent.
    const regs123 = Array<number>(246).fill(0);
    expect(await ask([0x10, ...u16(0), ...u16(124), 246, ...regs123])).toEqual([0x90, 3]);
    // Byte count that does not match the quantity, or the PDU.
    expect(await ask([0x10, ...u16(0), ...u16(2), 2, 0, 1])).toEqual([0x90, 3]);
    expect(await ask([0x10, ...u16(10), ...u16(1), 2, 0, 1, 0xff])).toEqual([0x90, 3]);
    expect(await ask([0x0f, ...u16(0), ...u16(9), 1, 0xff])).toEqual([0x8f, 3]);
    // §7: "the implied length is incorrect" — a read with a trailing byte, a read cut short.
    expect(await ask([0x03, ...u16(0), ...u16(1), 0])).toEqual([0x83, 3]);
    expect(await ask([0x03, 0])).toEqual([0x83, 3]);
  });

  it('answers unit 0xFF, ignores other unit ids silently and keeps serving', async () => {
    expect(await ask([0x03, ...u16(0), ...u16(1)], 0xff)).toEqual([0x03, 2, 0, 100]);
    const before = server.counters.otherUnit;
    client.send(frame(++transaction, [0x03, ...u16(0), ...u16(1)], { unit: 7 }));
    expect(await client.reply(300)).toBeNull();
    expect(server.counters.otherUnit).toBe(before + 1);
    expect(await ask([0x03, ...u16(0), ...u16(1)])).toEqual([0x03, 2, 0, 100]);
  });

  it('discards a frame with protocol id ≠ 0 and answers the next one on the same connection', async () => {
    const before = server.counters.badFrames;
    client.send(frame(++transaction, [0x03, ...u16(0), ...u16(1)], { protocol: 1 }));
    expect(await client.reply(300)).toBeNull();
    expect(server.counters.badFrames).toBe(before + 1);
    expect(await ask([0x03, ...u16(1), ...u16(1)])).toEqual([0x03, 2, 0, 200]);
  });

  it('drops a connection whose MBAP length is out of range; the server keeps answering', async () => {
    for (const length of [0, 1, 255, 0xffff]) {
      const bad = await RawClient.open(port);
      const before = server.counters.badFrames;
      bad.send(frame(1, [0x03, ...u16(0), ...u16(1)], { length }));
      expect(await bad.reply(300)).toBeNull();
      await eventually(() => bad.closed);
      expect(server.counters.badFrames).toBe(before + 1);
    }
    expect(await ask([0x03, ...u16(2), ...u16(1)])).toEqual([0x03, 2, 1, 44]);
  });

  it('answers several frames sent in one TCP chunk, in order', async () => {
    const t1 = ++transaction;
    const t2 = ++transaction;
    const t3 = ++transaction;
    client.send(Buffer.concat([frame(t1, [0x03, ...u16(0), ...u16(1)]), frame(t2, [0x99]), frame(t3, [0x04, ...u16(0), ...u16(1)])]));
    expect(await client.pdu(t1)).toEqual([0x03, 2, 0, 100]);
    expect(await client.pdu(t2)).toEqual([0x99 | 0x80, 1]);
    expect(await client.pdu(t3)).toEqual([0x04, 2, 0, 7]);
  });

  it('answers a frame split across TCP chunks, even byte by byte', async () => {
    const t = ++transaction;
    const request = frame(t, [0x03, ...u16(1), ...u16(2)]);
    client.send(request.subarray(0, 4));
    await new Promise((r) => setTimeout(r, 50));
    client.send(request.subarray(4));
    expect(await client.pdu(t)).toEqual([0x03, 4, 0, 200, 1, 44]);

    const t2 = ++transaction;
    for (const byte of frame(t2, [0x03, ...u16(0), ...u16(1)])) {
      client.send([byte]);
      await new Promise((r) => setImmediate(r));
    }
    expect(await client.pdu(t2)).toEqual([0x03, 2, 0, 100]);
  });

  it('survives garbage on many connections and keeps answering', async () => {
    const garbage = [
      Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'),
      Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      Buffer.from([0, 0, 0, 0, 0, 2, 1]), // length 2 with no function code after the unit id yet
      Buffer.alloc(4096, 0x5a),
    ];
    // Seeded bytes, so a failure can be replayed.
    let x = 12345;
    for (let i = 0; i < 20; i++) {
      garbage.push(Buffer.from(Array.from({ length: 1 + (i * 37) % 300 }, () => (x = (x * 1103515245 + 12345) & 0x7fffffff) & 0xff)));
    }
    for (const bytes of garbage) {
      const c = await RawClient.open(port);
      c.send(bytes);
      await c.reply(50);
      c.close();
    }
    expect(await ask([0x03, ...u16(0), ...u16(1)])).toEqual([0x03, 2, 0, 100]);
    expect(server.counters.badFrames).toBeGreaterThan(0);
  });
});

describe('ModbusTcpServer and a failing register bank', () => {
  it('answers exception 4 when the bank throws, and keeps serving', async () => {
    const failing: RegisterBank = {
      size: () => 8,
      readBits: () => [true],
      readRegisters: () => {
        throw new Error('sensor bus down');
      },
      writeCoils: () => undefined,
      writeHoldingRegisters: () => undefined,
    };
    const port = await freePort();
    const server = new ModbusTcpServer({ host: '127.0.0.1', port, unit: 3, bank: failing, log });
    await server.listen();
    const client = await RawClient.open(port);
    try {
      client.send(frame(1, [0x03, 0, 0, 0, 1], { unit: 3 }));
      expect(await client.pdu(1)).toEqual([0x83, 4]);
      client.send(frame(2, [0x01, 0, 0, 0, 1], { unit: 3 }));
      expect(await client.pdu(2)).toEqual([0x01, 1, 1]);
    } finally {
      client.close();
      await server.close();
    }
  });
});
