/**
 * Real peers for the gateway's tests: an MQTT broker, a Modbus TCP device, an ingest stand-in
 * that receives batches and acknowledges them, and the gateway itself in a child process. Test
 * support only; never imported by index.ts.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import modbusSerial from 'modbus-serial';
import mqtt, { type MqttClient } from 'mqtt';
import { deviceEventBatch, eventsAckKey, gatewayStatus, telemetryBatch, topics, type DeviceEventBatch, type GatewayStatus, type TelemetryBatch } from '@vigil/model';
import type { GatewayStats } from './index.ts';
import type { RunGatewayStart } from './testdata/run-gateway.ts';

const { ServerTCP } = modbusSerial;

// ── MQTT broker ──────────────────────────────────────────────────────────────────────────────

export { startTestBroker, type TestBroker } from '../testing/broker.ts';

// ── Modbus TCP device ────────────────────────────────────────────────────────────────────────

export interface ModbusMemory {
  holding: Map<number, number>;
  input: Map<number, number>;
  coils: Map<number, boolean>;
  discrete: Map<number, boolean>;
  /** `table:address` keys that never answer (the client times out). */
  silent: Set<string>;
  /** `table:address` keys that ignore every other request: the first, the third … (a lossy link). */
  flaky: Set<string>;
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
    flaky: memory.flaky ?? new Set(),
  };
  const asked = new Map<string, number>();
  const serve =
    <T>(table: string, map: Map<number, T>) =>
    (addr: number, _unit: number, cb: (err: unknown, value?: T) => void) => {
      const key = `${table}:${addr}`;
      if (mem.silent.has(key)) return;
      if (mem.flaky.has(key)) {
        asked.set(key, (asked.get(key) ?? 0) + 1);
        if (asked.get(key)! % 2 === 1) return;
      }
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
  /** Device event batches (`events/<device>`), acknowledged under `<device>:events`. */
  eventBatches: DeviceEventBatch[];
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
  const subscribe = () => client.subscribeAsync([topics.all.telemetry(site), topics.all.events(site), topics.status(site, gateway)], { qos: 1 }).catch(() => undefined);
  client.on('connect', () => void subscribe());
  await subscribe();
  const committed = new Map<string, number>();
  const ingest: TestIngest = {
    batches: [],
    eventBatches: [],
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
    if (topic.startsWith(topics.events(site, ''))) {
      const events = deviceEventBatch.decode(payload);
      if (!events.ok) {
        ingest.invalid++;
        return;
      }
      ingest.eventBatches.push(events.value);
      const stream = eventsAckKey(events.value.device);
      if ((committed.get(stream) ?? 0) < events.value.seq) committed.set(stream, events.value.seq);
      if (ingest.autoAck) ingest.ack(stream, committed.get(stream)!);
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

// ── BACnet/IP on the wire: a relay that can drop COV notifications, and a device that answers garbage ──

export interface CovDroppingRelay {
  /** The relay's port: give it to the gateway as the device's port. */
  port: number;
  /** While true, COV notifications from the device are dropped (the device "falls silent"). */
  dropCov: boolean;
  dropped: number;
  close(): Promise<void>;
}

/**
 * A UDP relay on loopback between the gateway and a BACnet/IP device: everything passes both ways,
 * except COV notifications (clause 13.14: confirmed service 1, unconfirmed service 2) while `dropCov`.
 */
export async function startCovDroppingRelay(devicePort: number): Promise<CovDroppingRelay> {
  const { createSocket } = await import('node:dgram');
  const { apduHeader, BACNET_PDU } = await import('./bacnet-transport.ts');
  const front = createSocket('udp4');
  const back = createSocket('udp4');
  let gateway: { address: string; port: number } | null = null;
  const relay: CovDroppingRelay = {
    port: 0,
    dropCov: false,
    dropped: 0,
    async close() {
      await Promise.all([new Promise<void>((r) => front.close(() => r())), new Promise<void>((r) => back.close(() => r()))]);
    },
  };
  front.on('message', (msg, rinfo) => {
    gateway = { address: rinfo.address, port: rinfo.port };
    back.send(msg, devicePort, '127.0.0.1');
  });
  back.on('message', (msg) => {
    const h = apduHeader(msg);
    const cov = (h?.type === BACNET_PDU.confirmedRequest && h.service === 1) || (h?.type === BACNET_PDU.unconfirmedRequest && h.service === 2);
    if (cov && relay.dropCov) {
      relay.dropped++;
      return;
    }
    if (gateway) front.send(msg, gateway.port, gateway.address);
  });
  front.on('error', () => undefined);
  back.on('error', () => undefined);
  await new Promise<void>((r) => front.bind(0, '127.0.0.1', () => r()));
  await new Promise<void>((r) => back.bind(0, '127.0.0.1', () => r()));
  relay.port = front.address().port;
  return relay;
}

/**
 * A "device" that answers every datagram with garbage: random bytes, a header-only BVLL, and a
 * ComplexACK carrying the request's invoke id but service data nobody can decode.
 */
export async function startGarbageBacnetDevice(): Promise<{ port: number; answered: number; close(): Promise<void> }> {
  const { createSocket } = await import('node:dgram');
  const { apduOffset } = await import('./bacnet-transport.ts');
  const socket = createSocket('udp4');
  const device = { port: 0, answered: 0, close: () => new Promise<void>((r) => socket.close(() => r())) };
  let n = 0;
  socket.on('message', (msg, rinfo) => {
    device.answered++;
    const at = apduOffset(msg);
    const invokeId = at >= 0 ? (msg[at + 2] ?? 0) : 0;
    const replies = [
      Buffer.from([0xde, 0xad, 0xbe, 0xef, n++ & 0xff]),
      Buffer.from([0x81, 0x0a, 0x00, 0x04]),
      // BVLL original-unicast, NPDU v1 no flags, ComplexACK (0x30) invoke id, service 14 (RPM), then junk.
      Buffer.from([0x81, 0x0a, 0x00, 0x0d, 0x01, 0x00, 0x30, invokeId, 0x0e, 0xff, 0x3f, 0x9a, 0x00]),
    ];
    for (const r of replies) socket.send(r, rinfo.port, rinfo.address);
  });
  socket.on('error', () => undefined);
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  device.port = socket.address().port;
  return device;
}
