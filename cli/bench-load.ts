/**
 * The load generator of `vigil bench` (a child process, so its CPU is not counted as ingest's):
 * plays gateways publishing telemetry, counts acknowledged samples, and times alarms.
 */
import mqtt from 'mqtt';
import { alarmChange, ack as ackCodec, topics, type BusOptions } from '@vigil/model';
import { BENCH_LIMIT, benchPointId } from './bench-site.ts';

export type LoadCommand =
  | { kind: 'throughput'; bus: BusOptions; site: string; devices: number; points: number; batchSize: number; window: number; warmupMs: number; measureMs: number }
  | { kind: 'latency'; bus: BusOptions; site: string; devices: number; points: number; batchSize: number; rate: number; detectors: number; warmupMs: number; measureMs: number };

export type LoadResult = { kind: 'throughput'; samplesPerSec: number; batches: number } | { kind: 'latency'; samplesPerSec: number; latenciesMs: number[] };

const GATEWAY = 'bench-gw';

async function run(cmd: LoadCommand): Promise<LoadResult> {
  const client = await mqtt.connectAsync(cmd.bus.url, { username: cmd.bus.username, password: cmd.bus.password, clientId: `vigil-bench-${process.pid}`, clean: true });
  const seq = new Array<number>(cmd.devices).fill(0);
  const acked = new Array<number>(cmd.devices).fill(0);
  const sizes = new Map<string, number>(); // `${device}:${seq}` → samples
  let ackedSamples = 0;
  let onAck: (() => void) | null = null;
  client.on('message', (topic, payload) => {
    if (topic === topics.acks(cmd.site, GATEWAY)) {
      const decoded = ackCodec.decode(payload);
      if (!decoded.ok) return;
      for (const [device, upTo] of Object.entries(decoded.value)) {
        const d = Number(device.slice(4));
        for (let s = acked[d]! + 1; s <= upTo; s++) {
          ackedSamples += sizes.get(`${d}:${s}`) ?? 0;
          sizes.delete(`${d}:${s}`);
        }
        acked[d] = Math.max(acked[d]!, upTo);
      }
      onAck?.();
    } else if (topic === topics.alarms(cmd.site)) {
      onAlarm?.(payload);
    }
  });
  let onAlarm: ((payload: Buffer) => void) | null = null;
  await client.subscribeAsync([topics.acks(cmd.site, GATEWAY), topics.alarms(cmd.site)], { qos: 1 });

  let cursor = 0;
  const sendBatch = (d: number, valueFor: (point: number) => number, ts: number) => {
    const samples = [];
    for (let i = 0; i < cmd.batchSize; i++) {
      const p = (cursor + i) % cmd.points;
      samples.push({ point: benchPointId(d, p), ts, value: valueFor(p), quality: 'good' as const });
    }
    cursor = (cursor + cmd.batchSize) % cmd.points;
    seq[d]! += 1;
    sizes.set(`${d}:${seq[d]}`, samples.length);
    client.publish(topics.telemetry(cmd.site, `dev-${d}`), JSON.stringify({ gateway: GATEWAY, device: `dev-${d}`, seq: seq[d], samples }), { qos: 1 });
  };

  if (cmd.kind === 'throughput') {
    // Closed loop: keep `window` batches in flight per device; a new one for every acknowledged one.
    let ts = Date.now();
    const topUp = () => {
      for (let d = 0; d < cmd.devices; d++) {
        while (seq[d]! - acked[d]! < cmd.window) sendBatch(d, (p) => (p * 7 + seq[d]!) % 500, ts++);
      }
    };
    onAck = topUp;
    topUp();
    await sleep(cmd.warmupMs);
    const start = ackedSamples;
    const t0 = performance.now();
    await sleep(cmd.measureMs);
    const samplesPerSec = ((ackedSamples - start) * 1000) / (performance.now() - t0);
    onAck = null;
    await client.endAsync();
    return { kind: 'throughput', samplesPerSec, batches: seq.reduce((a, b) => a + b, 0) };
  }

  // Open loop at a fixed rate; every 200 ms one detector point crosses its limit (or comes back).
  const sentAt = new Map<string, number>(); // `${point}@${ts}` → wall time of publish
  const latencies: number[] = [];
  let measuring = false;
  onAlarm = (payload) => {
    const decoded = alarmChange.decode(payload);
    if (!decoded.ok || decoded.value.state !== 'unacknowledged-active') return;
    const last = decoded.value.explanation.values.at(-1);
    const key = `${decoded.value.point}@${last?.ts}`;
    const t = sentAt.get(key);
    if (t !== undefined) {
      sentAt.delete(key);
      if (measuring) latencies.push(performance.now() - t);
    }
  };
  const tickMs = 20;
  const batchesPerTick = Math.max(1, Math.round((cmd.rate * tickMs) / 1000 / cmd.batchSize));
  let trip = 0;
  let high = new Set<number>();
  let lastTrip = 0;
  const started = performance.now();
  let sent = 0;
  const timer = setInterval(() => {
    const ts = Date.now();
    for (let b = 0; b < batchesPerTick; b++) {
      const d = (sent + b) % cmd.devices;
      sendBatch(d, () => 1, ts);
    }
    sent += batchesPerTick;
    if (performance.now() - lastTrip >= 200) {
      // A detector point (device i % devices, point ⌊i / devices⌋) flips across its limit in its own batch.
      lastTrip = performance.now();
      const i = trip++ % cmd.detectors;
      const d = i % cmd.devices;
      const p = Math.floor(i / cmd.devices) % cmd.points;
      const goHigh = !high.has(i);
      if (goHigh) high.add(i);
      else high.delete(i);
      seq[d]! += 1;
      sizes.set(`${d}:${seq[d]}`, 1);
      const tsTrip = ts + 1;
      if (goHigh) sentAt.set(`${benchPointId(d, p)}@${tsTrip}`, performance.now());
      client.publish(
        topics.telemetry(cmd.site, `dev-${d}`),
        JSON.stringify({ gateway: GATEWAY, device: `dev-${d}`, seq: seq[d], samples: [{ point: benchPointId(d, p), ts: tsTrip, value: goHigh ? BENCH_LIMIT * 2 : 0, quality: 'good' }] }),
        { qos: 1 },
      );
    }
  }, tickMs);
  await sleep(cmd.warmupMs);
  measuring = true;
  const startSamples = ackedSamples;
  const t0 = performance.now();
  await sleep(cmd.measureMs);
  const samplesPerSec = ((ackedSamples - startSamples) * 1000) / (performance.now() - t0);
  measuring = false;
  clearInterval(timer);
  void started;
  high = new Set();
  await client.endAsync();
  return { kind: 'latency', samplesPerSec, latenciesMs: latencies };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

process.on('message', (cmd: LoadCommand) => {
  run(cmd).then(
    (result) => process.send!(result, () => process.exit(0)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
});
