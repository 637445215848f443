/**
 * The gateway against real peers on loopback: an MQTT broker, Modbus TCP devices (modbus-serial's
 * ServerTCP) and an ingest stand-in that receives batches and acknowledges them.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { parseSite, type Site } from '@vigil/model';
import { eventually, freePort, tempDir } from '../testing/index.ts';
import { startGateway, type GatewayOptions, type RunningGateway } from './index.ts';
import { startIngest, startModbusDevice, startTestBroker, words32, type TestBroker, type TestIngest, type TestModbusDevice } from './test-peers.ts';

const log = pino({ level: 'silent' });

interface DeviceSpec {
  id: string;
  port: number;
  points: string[];
  extra?: string;
  maxRequestsInFlight?: number;
  retries?: number;
}

function siteWith(devices: DeviceSpec[]): Site {
  return parseSite(`
site: { id: lab, name: Lab, timezone: UTC }
buildings: [{ id: b, name: B, floors: [{ id: f, name: F, level: 0 }] }]
assets: [{ id: pump, name: Pump, class: pump, building: b, floor: f, department: technical },
         { id: fan, name: Fan, class: fan, building: b, floor: f, department: technical }]
devices:
${devices
  .map(
    (d) => `  - id: ${d.id}
    protocol: modbus-tcp
    host: 127.0.0.1
    port: ${d.port}
    unit: 1
    pollIntervalMs: 100
    timeoutMs: 300
    heartbeatMs: ${d.extra?.includes('heartbeat') ? 1000 : 600_000}
    maxRequestsInFlight: ${d.maxRequestsInFlight ?? 1}
    retries: ${d.retries ?? 1}
    points:
${d.points.map((p) => `      - ${p}`).join('\n')}`,
  )
  .join('\n')}
`);
}

/** Every type and both word orders, with scale and offset (see the register values below). */
const PUMP_POINTS = [
  '{ id: pump.speed, modbus: { table: holding, address: 0, type: uint16 }, scale: 0.01 }',
  '{ id: pump.temp, modbus: { table: holding, address: 1, type: int16 }, scale: 0.1, offset: 1 }',
  '{ id: pump.energy, modbus: { table: holding, address: 2, type: int32 } }',
  '{ id: pump.hours, modbus: { table: holding, address: 4, type: uint32, wordOrder: little } }',
  '{ id: pump.pressure, modbus: { table: holding, address: 6, type: float32 }, deadband: 0.05 }',
  '{ id: pump.flow, modbus: { table: input, address: 0, type: float32, wordOrder: little }, scale: 10 }',
  '{ id: pump.running, modbus: { table: discrete, address: 0, type: bool } }',
  '{ id: pump.enable, modbus: { table: coil, address: 3, type: bool } }',
];

function pumpMemory() {
  return {
    holding: new Map<number, number>([
      [0, 4550],
      [1, 0xff38], // -200
      ...entries(2, words32(-70000, 'int32')),
      ...entries(4, words32(4_000_000_000, 'uint32', 'little')),
      ...entries(6, words32(0.8, 'float32')),
    ]),
    input: new Map(entries(0, words32(1.25, 'float32', 'little'))),
    discrete: new Map([[0, true]]),
    coils: new Map([
      [0, false],
      [1, false],
      [2, false],
      [3, true],
    ]),
  };
}

function entries(start: number, words: number[]): [number, number][] {
  return words.map((w, i) => [start + i, w]);
}

function setFloat(device: TestModbusDevice, address: number, value: number) {
  const [hi, lo] = words32(value, 'float32');
  device.memory.holding.set(address, hi);
  device.memory.holding.set(address + 1, lo);
}

describe('gateway', () => {
  let broker: TestBroker;
  let dir: ReturnType<typeof tempDir>;
  const closers: Array<() => Promise<unknown>> = [];

  beforeEach(async () => {
    dir = tempDir('vigil-gateway-');
    broker = await startTestBroker(await freePort());
  });

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
    await broker.stop();
    dir.remove();
  });

  async function device(port: number, memory: Parameters<typeof startModbusDevice>[1]) {
    const d = await startModbusDevice(port, memory);
    closers.push(() => d.close());
    return d;
  }

  async function gateway(site: Site, extra: Partial<GatewayOptions> = {}): Promise<RunningGateway> {
    const gw = await startGateway({ site, gatewayId: 'gw1', bus: { url: broker.url }, dataDir: dir.path, log, reconnect: { firstMs: 100, maxMs: 400 }, ...extra });
    closers.push(() => gw.close());
    return gw;
  }

  async function ingest(autoAck = true): Promise<TestIngest> {
    const i = await startIngest(broker.url, 'lab', 'gw1', { autoAck });
    closers.push(() => i.close());
    return i;
  }

  it('polls, decodes every type, scales, publishes numbered batches and forgets them once acknowledged', async () => {
    const port = await freePort();
    await device(port, pumpMemory());
    const ing = await ingest();
    const gw = await gateway(siteWith([{ id: 'pump-1', port, points: PUMP_POINTS }]));

    const first = await eventually(() => ing.batches[0]);
    expect(first).toMatchObject({ gateway: 'gw1', device: 'pump-1', seq: 1 });
    const value = Object.fromEntries(first.samples.map((s) => [s.point, s.value]));
    expect(value['pump.speed']).toBeCloseTo(45.5);
    expect(value['pump.temp']).toBeCloseTo(-19);
    expect(value['pump.pressure']).toBeCloseTo(0.8, 6);
    expect(value['pump.flow']).toBeCloseTo(12.5, 6);
    expect(value).toMatchObject({ 'pump.energy': -70000, 'pump.hours': 4_000_000_000, 'pump.running': true, 'pump.enable': true });
    expect(first.samples.every((s) => s.quality === 'good' && Math.abs(s.ts - Date.now()) < 5000)).toBe(true);

    await eventually(() => gw.stats().batchesAcknowledged >= 1 && gw.stats().outbox.batches === 0);
    expect(gw.stats()).toMatchObject({ errors: { timeout: 0, exception: 0, 'comm-lost': 0 }, outbox: { samples: 0, oldestTs: null, dropped: 0 } });
    expect(gw.stats().polls).toBeGreaterThan(0);

    // The status says who is online, retained, with the outbox backlog.
    const status = await eventually(() => ing.statuses.find((s) => s.devices?.['pump-1']?.state === 'online'));
    expect(status).toMatchObject({ gateway: 'gw1', online: true, outbox: { dropped: 0 } });
    expect(ing.invalid).toBe(0);
  });

  it('past its age bound the outbox drops the oldest batches and says so on the status topic', async () => {
    const port = await freePort();
    await device(port, pumpMemory());
    // Nobody acknowledges: batches pile up until the 600 ms age bound drops them.
    const ing = await ingest(false);
    const gw = await gateway(siteWith([{ id: 'pump-1', port, points: PUMP_POINTS, extra: 'heartbeat' }]), { outbox: { maxAgeMs: 600 }, statusEveryMs: 200 });

    const status = await eventually(() => ing.statuses.find((s) => (s.outbox?.dropped ?? 0) > 0), 10_000);
    expect(status.online).toBe(true);
    expect(gw.stats().outbox.dropped).toBeGreaterThanOrEqual(status.outbox!.dropped);
    // What is left is younger than the bound (give or take one sweep).
    await eventually(() => gw.stats().outbox.oldestTs !== null);
    expect(Date.now() - gw.stats().outbox.oldestTs!).toBeLessThan(600 + 1500);
  });

  it('sends a change past the deadband only, and every point again at its heartbeat', async () => {
    const port = await freePort();
    const dev = await device(port, pumpMemory());
    const ing = await ingest();
    await gateway(siteWith([{ id: 'pump-1', port, points: PUMP_POINTS, extra: 'heartbeat' }]));
    await eventually(() => ing.batches.length >= 1);
    const startedAt = Date.now();

    setFloat(dev, 6, 0.83); // inside the 0.05 deadband: not sent
    await sleep(400);
    setFloat(dev, 6, 0.9); // past it: sent alone
    const change = await eventually(() => ing.batches.find((b) => b.samples.some((s) => s.point === 'pump.pressure' && Math.abs((s.value as number) - 0.9) < 1e-6)));
    expect(change.seq).toBe(2);
    const beforeHeartbeat = change.samples.map((s) => s.point);
    if (Date.now() - startedAt < 900) expect(beforeHeartbeat).toEqual(['pump.pressure']);
    expect(ing.samplesOf('pump.pressure').some((s) => Math.abs((s.value as number) - 0.83) < 1e-6)).toBe(false);

    // Heartbeat (1 s, per point): every point comes again, unchanged.
    await eventually(() => PUMP_POINTS.every((p) => ing.samplesOf(/id: ([\w.]+)/.exec(p)![1]!).length >= 2), 5000);
    const speeds = ing.samplesOf('pump.speed');
    expect(speeds[1]!.value).toBeCloseTo(45.5);
    expect(speeds[1]!.ts - speeds[0]!.ts).toBeGreaterThanOrEqual(1000);
    const seqs = ing.batches.map((b) => b.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
  });

  it('keeps counting seq across a restart with the same data directory', async () => {
    const port = await freePort();
    const dev = await device(port, pumpMemory());
    const ing = await ingest();
    const site = siteWith([{ id: 'pump-1', port, points: PUMP_POINTS }]);
    const gw = await gateway(site);
    await eventually(() => ing.batches.length >= 1);
    setFloat(dev, 6, 2);
    await eventually(() => ing.batches.length >= 2);
    await gw.close();
    const offline = await eventually(() => ing.statuses.find((s) => !s.online));
    expect(offline).toMatchObject({ gateway: 'gw1', online: false });
    const before = Math.max(...ing.batches.map((b) => b.seq));

    await gateway(site);
    const after = await eventually(() => ing.batches.find((b) => b.seq > before));
    expect(after.seq).toBe(before + 1);
    expect(after.samples).toHaveLength(PUMP_POINTS.length); // a new gateway reports everything first
  });

  it('re-sends unacknowledged batches in order after the broker restarts', async () => {
    const port = await freePort();
    const dev = await device(port, pumpMemory());
    const ing = await ingest(false);
    const gw = await gateway(siteWith([{ id: 'pump-1', port, points: PUMP_POINTS }]), { resendAfterMs: 60_000 });
    await eventually(() => ing.batches.length >= 1);
    ing.ack('pump-1', 0); // ingest is there (and has committed nothing): the window opens
    setFloat(dev, 6, 2);
    await eventually(() => ing.batches.length >= 2);
    expect(gw.stats().outbox.batches).toBe(2);

    await broker.stop();
    setFloat(dev, 6, 3); // made while the broker is down: waits in the outbox
    await eventually(() => gw.stats().outbox.batches === 3);
    ing.batches.length = 0;
    await broker.start();

    // One batch first, until ingest is heard on the new connection (it may not have subscribed
    // again yet: seq 2 without 1 would make it drop 1); then the rest, in order.
    await eventually(() => ing.batches.length >= 1, 15_000);
    await sleep(300);
    expect(ing.batches.map((b) => b.seq)).toEqual([1]);
    ing.ack('pump-1', 0);
    await eventually(() => ing.batches.length >= 3, 15_000);
    expect(ing.batches.map((b) => b.seq).slice(0, 3)).toEqual([1, 2, 3]);
    ing.ack('pump-1', 3);
    await eventually(() => gw.stats().outbox.batches === 0);
    expect(gw.stats().batchesAcknowledged).toBe(3);
  });

  it('re-sends a batch that ingest has not acknowledged in time, until it is', async () => {
    const port = await freePort();
    await device(port, pumpMemory());
    const ing = await ingest(false);
    const gw = await gateway(siteWith([{ id: 'pump-1', port, points: PUMP_POINTS }]), { resendAfterMs: 300 });
    await eventually(() => ing.batches.filter((b) => b.seq === 1).length >= 3);
    expect(gw.stats().batchesResent).toBeGreaterThanOrEqual(2);
    expect(gw.stats().outbox).toMatchObject({ batches: 1, samples: PUMP_POINTS.length });

    ing.ack('pump-1', 1);
    await eventually(() => gw.stats().outbox.batches === 0);
    const count = ing.batches.length;
    await sleep(800);
    expect(ing.batches.length).toBe(count);
  });

  it('reports comm-lost once and the device offline when it goes away, and recovers when it returns', async () => {
    const port = await freePort();
    const dev = await startModbusDevice(port, pumpMemory());
    const ing = await ingest();
    const gw = await gateway(siteWith([{ id: 'pump-1', port, points: PUMP_POINTS }]));
    await eventually(() => ing.statuses.find((s) => s.devices?.['pump-1']?.state === 'online'));

    await dev.close();
    const lost = await eventually(() => ing.batches.find((b) => b.samples.some((s) => s.reason === 'comm-lost')));
    expect(lost.samples).toHaveLength(PUMP_POINTS.length);
    expect(lost.samples.every((s) => s.value === null && s.quality === 'bad' && s.reason === 'comm-lost')).toBe(true);
    const offline = await eventually(() => ing.statuses.find((s) => s.devices?.['pump-1']?.reason === 'comm-lost'));
    expect(offline.devices?.['pump-1']).toMatchObject({ state: 'offline', reason: 'comm-lost' });

    await sleep(1000); // several failed reconnects: still one comm-lost sample per point
    expect(ing.samplesOf('pump.speed').filter((s) => s.reason === 'comm-lost')).toHaveLength(1);
    expect(gw.stats().errors['comm-lost']).toBe(1);

    await device(port, pumpMemory());
    await eventually(() => ing.samplesOf('pump.speed').at(-1)?.quality === 'good', 5000);
    await eventually(() => ing.statuses.at(-1)?.devices?.['pump-1']?.state === 'online');
  });

  it('retries a read that timed out, so a lossy link costs latency, not bad samples', async () => {
    const [lossy, strict] = [await freePort(), await freePort()];
    // Each device drops every other request for its register.
    await device(lossy, { holding: new Map([[0, 11]]), flaky: new Set(['holding:0']) });
    await device(strict, { holding: new Map([[0, 22]]), flaky: new Set(['holding:0']) });
    const ing = await ingest();
    const gw = await gateway(
      siteWith([
        { id: 'pump-1', port: lossy, retries: 1, points: ['{ id: pump.speed, modbus: { table: holding, address: 0 } }'] },
        { id: 'fan-1', port: strict, retries: 0, points: ['{ id: fan.speed, modbus: { table: holding, address: 0 } }'] },
      ]),
    );

    await eventually(() => ing.samplesOf('fan.speed').filter((s) => s.quality === 'bad').length >= 3 && ing.samplesOf('pump.speed').length > 0, 10_000);
    // With a retry every poll of the lossy device succeeds on its second try (report by exception
    // sends its unchanged value once); without, every other poll is bad.
    expect(ing.samplesOf('pump.speed')).toEqual([expect.objectContaining({ value: 11, quality: 'good' })]);
    expect(ing.samplesOf('fan.speed').find((s) => s.quality === 'bad')).toMatchObject({ value: null, reason: 'timeout' });
    expect(gw.stats().errors.timeout).toBeGreaterThan(0);
  });

  it('a timeout and an exception degrade only the points they hit, on that device only', async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    await device(portA, { holding: new Map([[0, 1], [1, 2], [50, 5]]), silent: new Set(['holding:50']) });
    await device(portB, { holding: new Map([[0, 7]]) });
    const ing = await ingest();
    const gw = await gateway(
      siteWith([
        {
          id: 'pump-1',
          port: portA,
          points: [
            '{ id: pump.ok, modbus: { table: holding, address: 0 } }',
            '{ id: pump.ok2, modbus: { table: holding, address: 1 } }',
            '{ id: pump.missing, modbus: { table: holding, address: 3 } }', // merged with 0-1, but absent: exception 2
            '{ id: pump.slow, modbus: { table: holding, address: 50 } }', // never answered: timeout
          ],
        },
        { id: 'fan-1', port: portB, points: ['{ id: fan.speed, modbus: { table: holding, address: 0 } }'] },
      ]),
      { statusEveryMs: 300 },
    );

    await eventually(() => ing.samplesOf('pump.slow').length > 0 && ing.samplesOf('pump.missing').length > 0 && ing.samplesOf('fan.speed').length > 0);
    const last = (point: string) => ing.samplesOf(point).at(-1);
    expect(last('pump.ok')).toMatchObject({ value: 1, quality: 'good' });
    expect(last('pump.ok2')).toMatchObject({ value: 2, quality: 'good' });
    expect(last('pump.missing')).toMatchObject({ value: null, quality: 'bad', reason: 'exception' });
    expect(last('pump.slow')).toMatchObject({ value: null, quality: 'bad', reason: 'timeout' });
    expect(last('fan.speed')).toMatchObject({ value: 7, quality: 'good' });

    const status = await eventually(() => ing.statuses.find((s) => s.devices?.['pump-1']?.state === 'degraded' && s.devices?.['fan-1']?.state === 'online'));
    expect(status.devices?.['pump-1']?.reason).toBeDefined();
    // Metrics per device on the status topic: the sick device's errors are its own; both are timed.
    const withLatency = await eventually(() => ing.statuses.find((s) => s.devices?.['pump-1']?.latencyMs && s.devices?.['fan-1']?.latencyMs && s.devices['pump-1'].errors!.timeout > 0));
    expect(withLatency.devices!['fan-1']!.errors).toEqual({ timeout: 0, exception: 0, 'comm-lost': 0 });
    expect(withLatency.devices!['pump-1']!.errors!.exception).toBeGreaterThan(0);
    // pump-1 waits out a 300 ms timeout (and its retry) every cycle; fan-1 answers at once.
    expect(withLatency.devices!['pump-1']!.latencyMs!.max).toBeGreaterThanOrEqual(300);
    expect(withLatency.devices!['fan-1']!.latencyMs!.avg).toBeLessThan(withLatency.devices!['pump-1']!.latencyMs!.avg);
    expect(withLatency.metrics).toMatchObject({ polls: expect.any(Number), errors: { 'comm-lost': 0 } });
    expect(withLatency.metrics!.polls).toBeGreaterThanOrEqual(withLatency.devices!['pump-1']!.polls! + withLatency.devices!['fan-1']!.polls! - 2);
    expect(gw.stats().errors.timeout).toBeGreaterThan(0);
    expect(gw.stats().errors.exception).toBeGreaterThan(0);
    expect(gw.stats().errors['comm-lost']).toBe(0);
  });

  it('pipelines the reads of a big device, and every value still lands on its own point', async () => {
    const port = await freePort();
    const registers = 2000; // 16 reads of 125
    // Holds every request for 20 ms before answering, and notes how many wait at once: only
    // pipelining gets more than one. Replies go out in reverse order to prove matching by transaction id.
    let waiting: Buffer[] = [];
    let mostAtOnce = 0;
    const server = net.createServer((socket) => {
      socket.on('error', () => undefined);
      let buffered = Buffer.alloc(0);
      socket.on('data', (chunk) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 12) {
          const frame = buffered.subarray(0, 12); // MBAP (7) + FC 3, start, count
          buffered = buffered.subarray(12);
          if (waiting.length === 0) {
            setTimeout(() => {
              const batch = waiting.reverse();
              waiting = [];
              for (const request of batch) {
                const start = request.readUInt16BE(8);
                const count = request.readUInt16BE(10);
                const reply = Buffer.alloc(9 + count * 2);
                request.copy(reply, 0, 0, 2); // transaction id
                reply.writeUInt16BE(3 + count * 2, 4);
                reply.writeUInt8(request.readUInt8(6), 6);
                reply.writeUInt8(3, 7);
                reply.writeUInt8(count * 2, 8);
                for (let i = 0; i < count; i++) reply.writeUInt16BE((start + i) * 3, 9 + i * 2);
                socket.write(reply);
              }
            }, 20);
          }
          waiting.push(Buffer.from(frame));
          mostAtOnce = Math.max(mostAtOnce, waiting.length);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => server.close(resolve)));
    const ing = await ingest();
    const points = Array.from({ length: registers }, (_, i) => `{ id: pump.r${i}, modbus: { table: holding, address: ${i} } }`);
    await gateway(siteWith([{ id: 'pump-1', port, points, maxRequestsInFlight: 8 }]));

    const first = await eventually(() => ing.batches[0], 10_000);
    expect(first.samples).toHaveLength(registers);
    expect(first.samples.map((s) => s.point)).toEqual(Array.from({ length: registers }, (_, i) => `pump.r${i}`));
    expect(first.samples.every((s, i) => s.quality === 'good' && s.value === i * 3)).toBe(true);
    expect(mostAtOnce).toBe(8);
  });

  it('survives a device that answers garbage', async () => {
    const port = await freePort();
    // Replies with the request's transaction id but lying lengths, cut PDUs and random bytes.
    const replies = [[0, 0, 0, 0], [0, 0, 0, 2, 1, 3], [0, 0, 0, 9, 1, 3, 200, 1, 2], [0, 0, 0, 4, 1, 3, 2], [0, 0, 0, 255, 1, 3, 254, 7, 7]];
    let n = 0;
    const server = net.createServer((socket) => {
      socket.on('error', () => undefined);
      socket.on('data', (request) => {
        socket.write(Buffer.concat([request.subarray(0, 2), Buffer.from(replies[n++ % replies.length]!)]));
        if (n % 3 === 0) socket.write(Buffer.from(Array.from({ length: 40 }, () => Math.floor(Math.random() * 256))));
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => server.close(resolve)));
    const ing = await ingest();
    const gw = await gateway(siteWith([{ id: 'pump-1', port, points: ['{ id: pump.speed, modbus: { table: holding, address: 0 } }', '{ id: pump.run, modbus: { table: coil, address: 0, type: bool } }'] }]));

    // A garbled reply is an exception at once; a reply cut short times out (and is retried once).
    await eventually(() => gw.stats().polls >= 6 && ing.samplesOf('pump.speed').length > 0, 10_000);
    expect(ing.samplesOf('pump.speed').every((s) => s.quality === 'bad' && s.value === null)).toBe(true);
    expect(gw.stats().errors.timeout + gw.stats().errors.exception).toBeGreaterThan(0);
  });
});
