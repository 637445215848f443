/**
 * The bench profile (`vigil sim --profile bench --devices N --points M`): N synthetic Modbus devices
 * of M holding registers, every value changing every second, for throughput benchmarks.
 */
import type { Logger } from 'pino';
import type { SimDevice } from '@vigil/model';
import { ModbusTcpServer, type ModbusServerCounters } from './modbus-server.ts';
import { ModbusException, ModbusExceptionCode, type BitTable, type RegisterBank, type RegisterTable, type Table } from './register-bank.ts';
import { hashString } from './prng.ts';

export interface BenchSimulatorOptions {
  devices: number;
  /** Holding registers per device (1–65536). */
  points: number;
  host?: string;
  /** Device d listens on basePort + d (default 20000, as cli/bench-site.ts). */
  basePort?: number;
  log: Logger;
  seed?: number;
}

export interface RunningBenchSimulators {
  /** In the catalog's shape (`vigil sim --json`): device `dev-<d>`, unit 1, model `bench`. */
  readonly endpoints: SimDevice[];
  counters(): Record<string, ModbusServerCounters>;
  close(): Promise<void>;
}

export const BENCH_MODEL = 'bench';
/** Values are a sawtooth in 0–9999: easy to check by eye, never constant from one second to the next. */
const SAWTOOTH = 10_000;

/** The whole profile's clock: one counter of seconds, moved by one timer for every device. */
class BenchSecond {
  value = Math.floor(Date.now() / 1000);
}

/** A device's registers, computed when read: register p is (start_p + second) mod 10000. */
class BenchBank implements RegisterBank {
  private readonly starts: Uint16Array;
  constructor(
    private readonly second: BenchSecond,
    points: number,
    seed: number,
  ) {
    this.starts = new Uint16Array(points);
    let h = seed >>> 0;
    for (let p = 0; p < points; p++) {
      h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) + p;
      this.starts[p] = (h >>> 0) % SAWTOOTH;
    }
  }
  size(table: Table): number {
    return table === 'holding' || table === 'input' ? this.starts.length : 0;
  }
  readBits(_table: BitTable): boolean[] {
    return [];
  }
  readRegisters(_table: RegisterTable, address: number, quantity: number): number[] {
    const s = this.second.value;
    const out = new Array<number>(quantity);
    for (let i = 0; i < quantity; i++) out[i] = (this.starts[address + i]! + s) % SAWTOOTH;
    return out;
  }
  writeCoils(): void {
    throw new ModbusException(ModbusExceptionCode.IllegalDataAddress, 'bench devices have no coils');
  }
  writeHoldingRegisters(): void {
    throw new ModbusException(ModbusExceptionCode.IllegalDataAddress, 'bench registers are read-only');
  }
}

/** Starts the bench profile; on a port conflict it closes what it started and throws. */
export async function startBenchSimulators(opts: BenchSimulatorOptions): Promise<RunningBenchSimulators> {
  const host = opts.host ?? '127.0.0.1';
  const basePort = opts.basePort ?? 20_000;
  const seed = opts.seed ?? 1;
  if (!Number.isInteger(opts.devices) || opts.devices < 1) throw new RangeError(`devices must be a positive integer, got ${opts.devices}`);
  if (!Number.isInteger(opts.points) || opts.points < 1 || opts.points > 65_536) throw new RangeError(`points must be an integer in 1-65536, got ${opts.points}`);
  if (basePort + opts.devices - 1 > 65_535) throw new RangeError(`ports ${basePort}-${basePort + opts.devices - 1} pass 65535`);
  const second = new BenchSecond();
  const servers: ModbusTcpServer[] = [];
  const endpoints: SimDevice[] = [];
  const close = async () => {
    clearInterval(timer);
    await Promise.all(servers.map((s) => s.close()));
  };
  // One timer for all devices: values are computed from the second when read.
  const timer = setInterval(() => (second.value = Math.floor(Date.now() / 1000)), 200);
  timer.unref();
  try {
    for (let d = 0; d < opts.devices; d++) {
      const port = basePort + d;
      const bank = new BenchBank(second, opts.points, (seed + hashString(`dev-${d}`)) >>> 0);
      const server = new ModbusTcpServer({ host, port, unit: 1, bank, log: opts.log });
      await server.listen();
      servers.push(server);
      endpoints.push({ device: `dev-${d}`, protocol: 'modbus-tcp', host, port, unit: 1, model: BENCH_MODEL, faults: [] });
    }
  } catch (err) {
    await close();
    throw err;
  }
  opts.log.info({ devices: opts.devices, points: opts.points, host, ports: `${basePort}-${basePort + opts.devices - 1}` }, 'bench simulators serving');
  return {
    endpoints,
    counters: () => Object.fromEntries(endpoints.map((e, i) => [e.device, { ...servers[i]!.counters }])),
    close,
  };
}
