/**
 * The gateway section of `vigil bench`: points per second carried from synthetic Modbus devices
 * through poll → normalise → outbox (disk) → publish, acknowledged by a consumer, with the
 * gateway's CPU and RSS. The gateway is the real thing: `vigil gateway` started as a user would
 * (site file, environment), its CPU and memory read from /proc; the devices, the embedded broker
 * and the acking consumer run in this process.
 *
 * Two shapes (issue 4): 100 devices × 1,000 registers on a 1 s cycle, and one device of 20,000
 * registers on a 1 s cycle kept by pipelining requests. Every value changes every second, so
 * report-by-exception (deadband 0) passes every point on every poll.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { ack, topics, type BusOptions } from '@vigil/model';
import { ModbusTcpServer, type RegisterBank } from '@vigil/simulators';
import { freePort, tempDir } from '../testing/index.ts';
import { startEmbeddedBroker } from './broker.ts';

export interface GatewayBenchOptions {
  seconds: number;
  progress: (line: string) => void;
  /** Default: 100 devices × 1,000 registers, and 1 device × 20,000 registers. */
  shapes?: { fleet: { devices: number; points: number }; bigDevice: { devices: number; points: number } };
}

export interface GatewayBenchShape {
  devices: number;
  points: number;
  /** Points acknowledged end to end per second, over the measured window. */
  pointsPerSec: number;
  /** Gateway process: percent of one core. */
  cpuPercent: number;
  /** Gateway process: peak resident set during the measured window. */
  rssMB: number;
  /** From starting `vigil gateway` until every device delivered its first batch (site file read, connections made). */
  startupS: number;
}

export interface GatewayBenchResult extends GatewayBenchShape {
  /** One device of 20,000 registers, pipelined. */
  bigDevice: GatewayBenchShape & { requestsInFlight: number };
}

const SITE = 'bench';
const GATEWAY = 'bench-gw';

/** Registers whose value changes every time it is read: every poll carries every point. */
class ChangingBank implements RegisterBank {
  private readonly timesRead: Uint16Array;
  constructor(private readonly registers: number) {
    this.timesRead = new Uint16Array(registers);
  }
  size(table: 'coil' | 'discrete' | 'holding' | 'input'): number {
    return table === 'holding' ? this.registers : 0;
  }
  readBits(): boolean[] {
    return [];
  }
  readRegisters(_table: 'holding' | 'input', address: number, quantity: number): number[] {
    const out = new Array<number>(quantity);
    for (let i = 0; i < quantity; i++) out[i] = ((address + i) * 7 + ++this.timesRead[address + i]!) & 0xffff;
    return out;
  }
  writeCoils(): void {}
  writeHoldingRegisters(): void {}
}

function siteYaml(ports: number[], points: number, requestsInFlight: number): string {
  const lines = ['site: { id: bench, name: Gateway bench, timezone: UTC }', 'buildings: [{ id: lab, name: Lab, floors: [{ id: f1, name: F1, level: 0 }] }]', 'assets:'];
  ports.forEach((_, d) => lines.push(`  - { id: bench-${d}, name: Bench ${d}, class: pump, building: lab, floor: f1, department: technical }`));
  lines.push('devices:');
  ports.forEach((port, d) => {
    lines.push(`  - id: dev-${d}`, '    protocol: modbus-tcp', '    host: 127.0.0.1', `    port: ${port}`, '    unit: 1', '    pollIntervalMs: 1000', '    timeoutMs: 3000', `    maxRequestsInFlight: ${requestsInFlight}`, '    points:');
    for (let p = 0; p < points; p++) lines.push(`      - { id: bench-${d}.p${p}, modbus: { table: holding, address: ${p} }, deadband: 0 }`);
  });
  lines.push('roster:', '  people: [{ username: tech, name: Tech, department: technical, skills: [pump] }]', '');
  return lines.join('\n');
}

/**
 * Acknowledges every batch as ingest would (highest seq per device), without storing anything, and
 * counts the samples of every batch it acknowledges for the first time.
 */
async function startAckingConsumer(bus: BusOptions) {
  const client = await mqtt.connectAsync(bus.url, { username: bus.username, password: bus.password, clientId: `vigil-bench-acker-${process.pid}`, protocolVersion: 4, clean: true });
  const highest: Record<string, number> = {};
  const pointKey = Buffer.from('"point":');
  let samples = 0;
  let dirty = false;
  client.on('message', (_topic, payload) => {
    // The payload starts {"gateway":…,"device":…,"seq":N,: read those without parsing the samples.
    const head = payload.toString('utf8', 0, 160);
    const m = /"device":"([^"]+)","seq":(\d+)/.exec(head);
    if (!m) return;
    const seq = Number(m[2]);
    if (seq <= (highest[m[1]!] ?? 0)) return; // a re-send
    highest[m[1]!] = seq;
    for (let at = payload.indexOf(pointKey); at >= 0; at = payload.indexOf(pointKey, at + pointKey.length)) samples++;
    dirty = true;
  });
  await client.subscribeAsync(topics.all.telemetry(SITE), { qos: 1 });
  // Acks coalesced every 20 ms: ingest acks per batch, but the gateway only needs the highest.
  const timer = setInterval(() => {
    if (!dirty) return;
    dirty = false;
    client.publish(topics.acks(SITE, GATEWAY), ack.encode({ ...highest }), { qos: 1 });
  }, 20);
  return {
    /** Samples acknowledged so far. */
    samples: () => samples,
    /** Devices heard from so far. */
    devices: () => Object.keys(highest).length,
    async close() {
      clearInterval(timer);
      await client.endAsync(true);
    },
  };
}

/** A process's CPU time (user + system, ms) and resident set (bytes), from /proc. */
function processUsage(pid: number): { cpuMs: number; rss: number } {
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15 (proc(5)).
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticksPerSecond = 100; // USER_HZ, 100 on Linux
  const cpuMs = ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
  const rssKb = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return { cpuMs, rss: rssKb * 1024 };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const VIGIL = fileURLToPath(new URL('../bin/vigil.js', import.meta.url));

async function measureShape(opts: GatewayBenchOptions, shape: { devices: number; points: number; requestsInFlight: number }): Promise<GatewayBenchShape> {
  const log = pino({ level: 'warn' }, pino.destination(2));
  const dir = tempDir('vigil-bench-gw-');
  const measureMs = opts.seconds * 1000;
  const warmupMs = Math.min(10_000, Math.max(3000, measureMs / 6));
  const servers: ModbusTcpServer[] = [];
  const integration = { username: 'bench', password: 'bench-password' };
  const broker = await startEmbeddedBroker({ host: '127.0.0.1', port: await freePort(), site: SITE, secret: 'bench-secret-0123456789', integrationUser: integration, log });
  let child: ChildProcess | null = null;
  let consumer: Awaited<ReturnType<typeof startAckingConsumer>> | null = null;
  try {
    const ports: number[] = [];
    for (let d = 0; d < shape.devices; d++) {
      const port = await freePort();
      const server = new ModbusTcpServer({ host: '127.0.0.1', port, unit: 1, bank: new ChangingBank(shape.points), log });
      await server.listen();
      servers.push(server);
      ports.push(port);
    }
    consumer = await startAckingConsumer({ url: broker.url, ...integration });
    const siteFile = join(dir.path, 'site.yaml');
    writeFileSync(siteFile, siteYaml(ports, shape.points, shape.requestsInFlight));
    const bus = broker.credentials('gateway');
    const startedAt = performance.now();
    // VIGIL_BENCH_FLAGS: extra Node flags for the gateway process, to compare V8 settings in one run.
    const flags = process.env.VIGIL_BENCH_FLAGS?.split(' ').filter(Boolean) ?? [];
    const gateway = spawn(process.execPath, [...flags, VIGIL, 'gateway'], {
      env: { ...process.env, VIGIL_SITE: siteFile, VIGIL_DATA_DIR: join(dir.path, 'data'), VIGIL_GATEWAY_ID: GATEWAY, VIGIL_MQTT_URL: bus.url, VIGIL_MQTT_USERNAME: bus.username, VIGIL_MQTT_PASSWORD: bus.password, VIGIL_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child = gateway;
    const exited = new Promise<never>((_, reject) => gateway.once('exit', (code) => reject(new Error(`vigil gateway exited with ${code}`))));
    exited.catch(() => undefined);
    opts.progress(`gateway: ${shape.devices} device(s) × ${shape.points.toLocaleString('en')} registers, 1 s cycle, ${shape.requestsInFlight} request(s) in flight; start-up, warm-up ${warmupMs / 1000} s + ${opts.seconds} s …`);
    // Started: every device delivered a batch (the site file read, every connection made).
    // Polled, not raced against a long timer: a pending 180 s timer would hold the bench open after it finished.
    const deadline = performance.now() + 180_000;
    while (consumer.devices() < shape.devices) {
      if (gateway.exitCode !== null || gateway.signalCode !== null) throw new Error(`vigil gateway exited with ${gateway.exitCode ?? gateway.signalCode}`);
      if (performance.now() > deadline) throw new Error('vigil gateway did not deliver from every device within 180 s');
      await sleep(100);
    }
    const startupMs = performance.now() - startedAt;
    await Promise.race([sleep(warmupMs), exited]);

    const pid = gateway.pid!;
    const begin = { usage: processUsage(pid), at: performance.now(), samples: consumer.samples() };
    let peakRss = begin.usage.rss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, processUsage(pid).rss)), 250);
    try {
      await Promise.race([sleep(measureMs), exited]);
    } finally {
      clearInterval(sampler);
    }
    const end = { usage: processUsage(pid), at: performance.now(), samples: consumer.samples() };
    const wallMs = end.at - begin.at;
    return {
      devices: shape.devices,
      points: shape.devices * shape.points,
      pointsPerSec: Math.round(((end.samples - begin.samples) * 1000) / wallMs),
      cpuPercent: Math.round(((end.usage.cpuMs - begin.usage.cpuMs) / wallMs) * 1000) / 10,
      rssMB: Math.round(peakRss / 2 ** 20),
      startupS: Math.round(startupMs / 100) / 10,
    };
  } finally {
    if (child && child.exitCode === null) {
      const gone = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await gone;
    }
    await consumer?.close();
    await Promise.all(servers.map((s) => s.close()));
    await broker.close();
    dir.remove();
  }
}

/** The two shapes of issue 4, or smaller ones (the test suite runs the bench's machinery on a small shape). */
export async function benchGateway(opts: GatewayBenchOptions): Promise<GatewayBenchResult> {
  const fleetShape = opts.shapes?.fleet ?? { devices: 100, points: 1000 };
  const bigShape = opts.shapes?.bigDevice ?? { devices: 1, points: 20_000 };
  const fleet = await measureShape(opts, { ...fleetShape, requestsInFlight: 1 });
  const big = await measureShape(opts, { ...bigShape, requestsInFlight: 16 });
  return { ...fleet, bigDevice: { ...big, requestsInFlight: 16 } };
}
