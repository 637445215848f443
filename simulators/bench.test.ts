import { describe, expect, it } from 'vitest';
import pino from 'pino';
import ModbusSerial from 'modbus-serial';
import { freePort } from '../testing/index.ts';
import { startBenchSimulators } from './index.ts';

type ModbusClient = InstanceType<typeof ModbusSerial.default>;
const ModbusRTU = ModbusSerial as unknown as new () => ModbusClient;

/** A block of `count` free consecutive ports (retries when one is taken). */
async function freePortBlock(count: number): Promise<number> {
  for (;;) {
    const base = await freePort();
    if (base + count > 65_535) continue;
    return base;
  }
}

describe('startBenchSimulators', () => {
  it('serves N devices of M holding registers on consecutive ports, each value changing every second, in the catalog shape', async () => {
    const basePort = await freePortBlock(20);
    const bench = await startBenchSimulators({ devices: 20, points: 1000, basePort, log: pino({ level: 'silent' }), seed: 3 });
    const c = new ModbusRTU();
    try {
      expect(bench.endpoints).toHaveLength(20);
      expect(bench.endpoints[19]).toEqual({ device: 'dev-19', protocol: 'modbus-tcp', host: '127.0.0.1', port: basePort + 19, unit: 1, model: 'bench', faults: [] });
      await c.connectTCP('127.0.0.1', { port: basePort + 19 });
      c.setID(1);
      c.setTimeout(2000);
      const first = (await c.readHoldingRegisters(875, 125)).data;
      expect(first.every((v) => v >= 0 && v < 10_000)).toBe(true);
      expect(new Set(first).size).toBeGreaterThan(100);
      expect((await c.readInputRegisters(0, 10)).data).toHaveLength(10);
      await new Promise((r) => setTimeout(r, 1300));
      const second = (await c.readHoldingRegisters(875, 125)).data;
      // Every value moved (sawtooth: +1 a second, or wrapped to 0).
      second.forEach((v, i) => expect(v).not.toBe(first[i]));
      await expect(c.readHoldingRegisters(1000, 1)).rejects.toMatchObject({ modbusCode: 2 });
      await expect(c.writeRegister(0, 1)).rejects.toMatchObject({ modbusCode: 2 });
      expect(bench.counters()['dev-19']!.requests).toBeGreaterThanOrEqual(4);
    } finally {
      c.close(() => undefined);
      await bench.close();
    }
  });

  it('is deterministic from its seed, and refuses bad sizes', async () => {
    const log = pino({ level: 'silent' });
    const values = async (seed: number) => {
      const basePort = await freePortBlock(1);
      const bench = await startBenchSimulators({ devices: 1, points: 50, basePort, log, seed });
      const c = new ModbusRTU();
      try {
        await c.connectTCP('127.0.0.1', { port: basePort });
        c.setID(1);
        const at = Math.floor(Date.now() / 1000);
        const data = (await c.readHoldingRegisters(0, 50)).data;
        // Remove the second, leaving the seed's starting points.
        return data.map((v) => (v - (at % 10_000) + 10_000) % 10_000);
      } finally {
        c.close(() => undefined);
        await bench.close();
      }
    };
    const a = await values(5);
    const b = await values(5);
    // Reads may straddle a second: allow the whole block to be off by one.
    const shift = (b[0]! - a[0]! + 10_000) % 10_000;
    expect([0, 1, 9_999]).toContain(shift);
    expect(b).toEqual(a.map((v) => (v + shift) % 10_000));
    await expect(startBenchSimulators({ devices: 0, points: 10, log })).rejects.toThrow(RangeError);
    await expect(startBenchSimulators({ devices: 1, points: 70_000, log })).rejects.toThrow(RangeError);
  });
});
