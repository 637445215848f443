/**
 * The gateway section of `vigil bench`: points per second carried from synthetic Modbus devices
 * through poll → normalise → outbox (disk) → publish, acknowledged by a consumer, with the
 * gateway's CPU and RSS. The gateway runs in a child process (this file, forked with `--child`) so
 * its CPU is its own; the devices, the embedded broker and the acking consumer run here.
 *
 * Two shapes (issue 4): 100 devices × 1,000 registers on a 1 s cycle, and one device of 20,000
 * registers on a 1 s cycle kept by pipelining requests. Every value changes every second, so
 * report-by-exception (deadband 0) passes every point on every poll.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { ack, parseSite, topics, type BusOptions, type Site } from '@vigil/model';
import { ModbusTcpServer, type RegisterBank } from '@vigil/simulators';
import { freePort, tempDir } from '../testing/index.ts';
import { startEmbeddedBroker } from './broker.ts';

export interface GatewayBenchOptions {
  seconds: number;
  progress: (line: string) => void;
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
}

export interface GatewayBenchResult extends GatewayBenchShape {
  /** One device of 20,000 registers, pipelined. */
  bigDevice: GatewayBenchShape & { requestsInFlight: number };
}

const SITE = 'bench';
const GATEWAY = 'bench-gw';

/** Registers whose value is a function of (address, second): each differs from the previous second's. */
class ChangingBank implements RegisterBank {
  constructor(private readonly registers: number) {}
  size(table: 'coil' | 'discrete' | 'holding' | 'input'): number {
    return table === 'holding' ? this.registers : 0;
  }
  readBits(): boolean[] {
    return [];
  }
  readRegisters(_table: 'holding' | 'input', address: number, quantity: number): number[] {
    // Polls start at least 1 s apart, so consecutive polls always fall in different seconds.
    const second = Math.floor(Date.now() / 1000);
    const out = new Array<number>(quantity);
    for (let i = 0; i < quantity; i++) out[i] = ((address + i) * 7 + second) & 0xffff;
    return out;
  }
  writeCoils(): void {}
  writeHoldingRegisters(): void {}
}

function siteYaml(ports: number[], points: number): string {
  const lines = ['site: { id: bench, name: Gateway bench, timezone: UTC }', 'buildings: [{ id: lab, name: Lab, floors: [{ id: f1, name: F1, level: 0 }] }]', 'assets:'];
  ports.forEach((_, d) => lines.push(`  - { id: bench-${d}, name: Bench ${d}, class: pump, building: lab, floor: f1, department: technical }`));
  lines.push('devices:');
  ports.forEach((port, d) => {
    lines.push(`  - id: dev-${d}`, '    protocol: modbus-tcp', '    host: 127.0.0.1', `    port: ${port}`, '    unit: 1', '    pollIntervalMs: 1000', '    timeoutMs: 3000', '    points:');
    for (let p = 0; p < points; p++) lines.push(`      - { id: bench-${d}.p${p}, modbus: { table: holding, address: ${p} }, deadband: 0 }`);
  });
  lines.push('roster:', '  people: [{ username: tech, name: Tech, department: technical, skills: [pump] }]', '');
  return lines.join('\n');
}

// The site goes over as parsed JSON: parsing 100,000 points of YAML takes ~10 s and ~900 MB of heap
// (model/ parseSite), a start-up cost that is not the gateway's steady state being measured.
type ChildCommand = { start: { site: Site; bus: BusOptions; dataDir: string; modbusMaxInFlight: number } } | 'mark' | 'measure';
type ChildReply = { started: true } | { marked: true } | { measured: { cpuMicros: number; wallMs: number; samplesAcknowledged: number; peakRss: number } } | { error: string };

/** Acknowledges every batch as ingest would (highest seq per device), without storing anything. */
async function startAckingConsumer(bus: BusOptions) {
  const client = await mqtt.connectAsync(bus.url, { username: bus.username, password: bus.password, clientId: `vigil-bench-acker-${process.pid}`, protocolVersion: 4, clean: true });
  const highest: Record<string, number> = {};
  let dirty = false;
  client.on('message', (_topic, payload) => {
    // The payload starts {"gateway":…,"device":…,"seq":N,: read those without parsing the samples.
    const head = payload.toString('utf8', 0, 160);
    const m = /"device":"([^"]+)","seq":(\d+)/.exec(head);
    if (!m) return;
    const seq = Number(m[2]);
    if (seq > (highest[m[1]!] ?? 0)) highest[m[1]!] = seq;
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
    async close() {
      clearInterval(timer);
      await client.endAsync(true);
    },
  };
}

function send(child: ChildProcess, command: ChildCommand): Promise<ChildReply> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`bench gateway exited with ${code}`));
    child.once('message', (reply: ChildReply) => {
      child.off('exit', onExit);
      if ('error' in reply) reject(new Error(reply.error));
      else resolve(reply);
    });
    child.once('exit', onExit);
    child.send(command);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
    // VIGIL_BENCH_FLAGS: extra Node flags for the gateway process, to compare V8 settings in one run.
    child = fork(fileURLToPath(import.meta.url), ['--child'], { execArgv: ['--import', 'tsx', ...(process.env.VIGIL_BENCH_FLAGS?.split(' ').filter(Boolean) ?? [])], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await send(child, { start: { site: parseSite(siteYaml(ports, shape.points), 'bench-gateway.yaml'), bus: broker.credentials('gateway'), dataDir: dir.path, modbusMaxInFlight: shape.requestsInFlight } });
    opts.progress(`gateway: ${shape.devices} device(s) × ${shape.points.toLocaleString('en')} registers, 1 s cycle, ${shape.requestsInFlight} request(s) in flight; warm-up ${warmupMs / 1000} s + ${opts.seconds} s …`);
    await sleep(warmupMs);
    await send(child, 'mark');
    await sleep(measureMs);
    const reply = await send(child, 'measure');
    if (!('measured' in reply)) throw new Error('bench gateway did not measure');
    const m = reply.measured;
    return {
      devices: shape.devices,
      points: shape.devices * shape.points,
      pointsPerSec: Math.round((m.samplesAcknowledged * 1000) / m.wallMs),
      cpuPercent: Math.round((m.cpuMicros / 1000 / m.wallMs) * 1000) / 10,
      rssMB: Math.round(m.peakRss / 2 ** 20),
    };
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await consumer?.close();
    await Promise.all(servers.map((s) => s.close()));
    await broker.close();
    dir.remove();
  }
}

export async function benchGateway(opts: GatewayBenchOptions): Promise<GatewayBenchResult> {
  const fleet = await measureShape(opts, { devices: 100, points: 1000, requestsInFlight: 1 });
  const big = await measureShape(opts, { devices: 1, points: 20_000, requestsInFlight: 16 });
  return { ...fleet, bigDevice: { ...big, requestsInFlight: 16 } };
}

// ── the gateway process ──────────────────────────────────────────────────────────────────────

async function runChild(): Promise<void> {
  const { startGateway } = await import('@vigil/gateway');
  const log = pino({ level: 'warn' }, pino.destination(2));
  let gateway: Awaited<ReturnType<typeof startGateway>> | null = null;
  let mark = { cpu: process.cpuUsage(), at: performance.now(), acked: 0 };
  let peakRss = 0;
  setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 250).unref();
  process.on('message', (command: ChildCommand) => {
    void (async () => {
      try {
        if (command === 'mark') {
          peakRss = process.memoryUsage().rss;
          mark = { cpu: process.cpuUsage(), at: performance.now(), acked: gateway?.stats().samplesAcknowledged ?? 0 };
          process.send!({ marked: true } satisfies ChildReply);
        } else if (command === 'measure') {
          const cpu = process.cpuUsage(mark.cpu);
          const measured = { cpuMicros: cpu.user + cpu.system, wallMs: performance.now() - mark.at, samplesAcknowledged: (gateway?.stats().samplesAcknowledged ?? 0) - mark.acked, peakRss };
          process.send!({ measured } satisfies ChildReply);
        } else {
          const { site, bus, dataDir, modbusMaxInFlight } = command.start;
          gateway = await startGateway({ site, gatewayId: GATEWAY, bus, dataDir, log, modbusMaxInFlight });
          process.send!({ started: true } satisfies ChildReply);
        }
      } catch (err) {
        process.send!({ error: (err as Error).stack ?? String(err) } satisfies ChildReply);
      }
    })();
  });
  process.on('SIGTERM', () => void (gateway?.close() ?? Promise.resolve()).finally(() => process.exit(0)));
  process.on('disconnect', () => process.exit(0));
}

if (process.argv[2] === '--child' && process.send) void runChild();
