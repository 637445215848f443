/**
 * Real peers for the gateway's tests: an MQTT broker, a Modbus TCP device, an ingest stand-in
 * that receives batches and acknowledges them, and the gateway itself in a child process. Test
 * support only; never imported by index.ts.
 */
import net from 'node:net';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import modbusSerial from 'modbus-serial';
import mqtt, { type MqttClient } from 'mqtt';
import { gatewayStatus, telemetryBatch, topics, type GatewayStatus, type TelemetryBatch } from '@vigil/model';
import type { GatewayStats } from './index.ts';
import type { RunGatewayStart } from './testdata/run-gateway.ts';

const { ServerTCP } = modbusSerial;

// ── MQTT broker ──────────────────────────────────────────────────────────────────────────────

export interface TestBroker {
  url: string;
  /** Stops the broker, dropping every connection, session and retained message (no persistence). */
  stop(): Promise<void>;
  /** A fresh broker listening on the same port again. */
  start(): Promise<void>;
}

/** An embedded aedes broker on 127.0.0.1. */
export async function startTestBroker(port: number): Promise<TestBroker> {
  const { Aedes } = await import('aedes');
  let server: net.Server | null = null;
  let broker: Awaited<ReturnType<typeof Aedes.createBroker>> | null = null;
  const sockets = new Set<net.Socket>();
  const testBroker: TestBroker = {
    url: `mqtt://127.0.0.1:${port}`,
    async start() {
      const b = await Aedes.createBroker();
      broker = b;
      server = net.createServer((socket) => {
        // server.close() leaves open connections alone: keep them to cut them on stop().
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        b.handle(socket);
      });
      const s = server;
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(port, '127.0.0.1', () => resolve());
      });
    },
    async stop() {
      const s = server;
      const b = broker;
      server = null;
      broker = null;
      for (const socket of sockets) socket.destroy();
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
      if (b) await new Promise<void>((resolve) => b.close(() => resolve()));
    },
  };
  await testBroker.start();
  return testBroker;
}

// ── Modbus TCP device ────────────────────────────────────────────────────────────────────────

export interface ModbusMemory {
  holding: Map<number, number>;
  input: Map<number, number>;
  coils: Map<number, boolean>;
  discrete: Map<number, boolean>;
  /** `table:address` keys that never answer (the client times out). */
  silent: Set<string>;
}

export interface TestModbusDevice {
  memory: ModbusMemory;
  close(): Promise<void>;
}

const ILLEGAL_DATA_ADDRESS = { modbusErrorCode: 2, msg: 'illegal data address' };

/**
 * modbus-serial's ServerTCP serving a register map. Handlers use the callback form (an async
 * handler always yields exception 4: LIBRARIES.md); an address not in the map answers exception 2.
 */
export async function startModbusDevice(port: number, memory: Partial<ModbusMemory> = {}): Promise<TestModbusDevice> {
  const mem: ModbusMemory = {
    holding: memory.holding ?? new Map(),
    input: memory.input ?? new Map(),
    coils: memory.coils ?? new Map(),
    discrete: memory.discrete ?? new Map(),
    silent: memory.silent ?? new Set(),
  };
  const serve =
    <T>(table: string, map: Map<number, T>) =>
    (addr: number, _unit: number, cb: (err: unknown, value?: T) => void) => {
      if (mem.silent.has(`${table}:${addr}`)) return;
      const value = map.get(addr);
      if (value === undefined) cb(ILLEGAL_DATA_ADDRESS);
      else cb(null, value);
    };
  const vector = {
    getHoldingRegister: serve('holding', mem.holding),
    getInputRegister: serve('input', mem.input),
    getCoil: serve('coil', mem.coils),
    getDiscreteInput: serve('discrete', mem.discrete),
  };
  const server = new ServerTCP(vector as never, { host: '127.0.0.1', port, unitID: 255 });
  server.on('socketError', () => undefined);
  server.on('serverError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('initialized', () => resolve());
    server.once('serverError', reject);
  });
  return {
    memory: mem,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Registers of a 32-bit value in the given word order. */
export function words32(value: number, type: 'int32' | 'uint32' | 'float32', order: 'big' | 'little' = 'big'): [number, number] {
  const buf = Buffer.alloc(4);
  if (type === 'float32') buf.writeFloatBE(value);
  else if (type === 'int32') buf.writeInt32BE(value);
  else buf.writeUInt32BE(value);
  const hi = buf.readUInt16BE(0);
  const lo = buf.readUInt16BE(2);
  return order === 'big' ? [hi, lo] : [lo, hi];
}

// ── Ingest stand-in ──────────────────────────────────────────────────────────────────────────

export interface TestIngest {
  batches: TelemetryBatch[];
  statuses: GatewayStatus[];
  invalid: number;
  /** Acknowledge every batch as it arrives (the default) or only by `ack()`. */
  autoAck: boolean;
  ack(device: string, seq: number): void;
  /** Samples of one point, in arrival order. */
  samplesOf(point: string): TelemetryBatch['samples'];
  close(): Promise<void>;
}

export async function startIngest(url: string, site: string, gateway: string, opts: { autoAck?: boolean } = {}): Promise<TestIngest> {
  const client: MqttClient = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 200, clientId: `test-ingest-${Math.random().toString(16).slice(2)}` });
  client.on('error', () => undefined);
  const subscribe = () => client.subscribeAsync([topics.all.telemetry(site), topics.status(site, gateway)], { qos: 1 }).catch(() => undefined);
  client.on('connect', () => void subscribe());
  await subscribe();
  const committed = new Map<string, number>();
  const ingest: TestIngest = {
    batches: [],
    statuses: [],
    invalid: 0,
    autoAck: opts.autoAck ?? true,
    ack(device, seq) {
      client.publish(topics.acks(site, gateway), JSON.stringify({ [device]: seq }), { qos: 1 });
    },
    samplesOf: (point) => ingest.batches.flatMap((b) => b.samples.filter((s) => s.point === point)),
    close: () => client.endAsync(true),
  };
  client.on('message', (topic, payload) => {
    if (topic === topics.status(site, gateway)) {
      const status = gatewayStatus.decode(payload);
      if (status.ok) ingest.statuses.push(status.value);
      else ingest.invalid++;
      return;
    }
    const decoded = telemetryBatch.decode(payload);
    if (!decoded.ok) {
      ingest.invalid++;
      return;
    }
    const batch = decoded.value;
    ingest.batches.push(batch);
    // Like ingest: commit a batch once, acknowledge the highest committed seq.
    if ((committed.get(batch.device) ?? 0) < batch.seq) committed.set(batch.device, batch.seq);
    if (ingest.autoAck) ingest.ack(batch.device, committed.get(batch.device)!);
  });
  return ingest;
}

// ── Gateway in a child process ───────────────────────────────────────────────────────────────

export interface GatewayProcess {
  readonly pid: number;
  stats(): Promise<{ stats: GatewayStats | null; cpuMicros: number; wallMs: number; rss: number }>;
  /** Starts recording [wall ms, samples acknowledged, samples waiting] every 50 ms in the gateway's process. */
  watch(): void;
  timeline(): Promise<Array<[number, number, number]>>;
  /** SIGKILL: no goodbye, no flush. */
  kill(): Promise<void>;
  close(): Promise<void>;
}

/** Forks gateway/testdata/run-gateway.ts and starts a gateway in it. */
export async function forkGateway(start: RunGatewayStart): Promise<GatewayProcess> {
  const child = fork(fileURLToPath(new URL('./testdata/run-gateway.ts', import.meta.url)), { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const reply = <T>(key: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (m: Record<string, unknown>) => {
        if (m.error) reject(new Error(String(m.error)));
        else if (key in m) resolve(m as T);
        else return;
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      const onExit = (code: number | null) => reject(new Error(`gateway process exited (${code}) before answering '${key}'`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const started = reply('started');
  child.send({ start });
  await started;
  return {
    pid: child.pid!,
    stats() {
      const answer = reply<Awaited<ReturnType<GatewayProcess['stats']>>>('stats');
      child.send('stats');
      return answer;
    },
    watch() {
      child.send('watch');
    },
    async timeline() {
      const answer = reply<{ timeline: Array<[number, number, number]> }>('timeline');
      child.send('timeline');
      return (await answer).timeline;
    },
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const closed = reply('closed').catch(() => undefined);
      child.send('close');
      await closed;
      await exited;
    },
  };
}
