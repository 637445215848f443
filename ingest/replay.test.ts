/**
 * Replay (issue 5, "What it must show"): a recorded day of the demo tower with known faults
 * (testdata/demo-day.jsonl.gz, made by simulators/scenarios/record.ts; testdata/README.md says how)
 * goes through a real ingest over a real broker, in sample time, as fast as the acks allow, and
 * yields exactly the alarms of testdata/demo-day.expected.json — each at its sample time — and no
 * others. Detectors run on sample time (DESIGN.md, "Identifiers and time"), so the replay gives
 * the alarms the live day gave.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import pino from 'pino';
import { connectAsync, type MqttClient } from 'mqtt';
import { DEMO_SITE_FILE, loadSiteFile, topics, type TelemetryBatch } from '@vigil/model';
import { tempDir } from '../testing/index.ts';
import { startTestBroker } from '../testing/broker.ts';
import { openStateReader, startIngest, type IngestHealth } from './index.ts';

const TESTDATA = new URL('./testdata/', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('demo-day.manifest.json', TESTDATA), 'utf8')) as {
  data: string;
  gateway: string;
  batches: number;
  samples: number;
  start: number;
  end: number;
  devices: Record<string, { batches: number; samples: number }>;
};
const expected = JSON.parse(readFileSync(new URL('demo-day.expected.json', TESTDATA), 'utf8')) as {
  activations: Array<{ key: string; ts: number }>;
};

const shmDir = () => {
  const path = mkdtempSync('/dev/shm/vigil-replay-');
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
};

/** Published and not yet acknowledged, at most (the gateway's default window). */
const WINDOW = 64;

interface Activation {
  key: string;
  ts: number;
}

describe('replay of a recorded day of the demo tower', () => {
  const site = loadSiteFile(DEMO_SITE_FILE);
  const SITE = site.site.id;
  let closeBroker: () => Promise<void>;
  let dir: ReturnType<typeof tempDir>;
  let activations: Activation[] = [];
  let health: IngestHealth;
  let replayMs = 0;
  let batches: TelemetryBatch[] = [];

  beforeAll(async () => {
    batches = gunzipSync(readFileSync(new URL(manifest.data, TESTDATA)))
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as TelemetryBatch);

    // The test broker sets TCP_NODELAY on its side too (Mosquitto: set_tcp_nodelay true).
    const broker = await startTestBroker();
    closeBroker = () => broker.stop();
    // On tmpfs where there is one: the replay measures ingest, not the disk's fsync (synchronous=FULL, two commits a batch).
    dir = existsSync('/dev/shm') ? shmDir() : tempDir('vigil-replay-');
    const bus = { url: broker.url };
    const ingest = await startIngest({ site, bus, dataDir: dir.path, log: pino({ level: 'error' }) });

    const gateway: MqttClient = await connectAsync(bus.url, { clientId: 'replay-gateway', protocolVersion: 4, clean: true });
    // As ingest does: without it Nagle's algorithm holds each small publish for the previous one's
    // TCP ack, and a window of 64 drains at about 1,000 batches/s on loopback instead of 4,000.
    (gateway.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    const acked = new Map<string, number>();
    let wake: (() => void) | null = null;
    gateway.on('message', (_topic, payload) => {
      for (const [device, seq] of Object.entries(JSON.parse(payload.toString()) as Record<string, number>)) acked.set(device, Math.max(acked.get(device) ?? 0, seq));
      wake?.();
    });
    await gateway.subscribeAsync(topics.acks(SITE, manifest.gateway), { qos: 1 });

    // In order, QoS 1, at most WINDOW unacknowledged: as fast as ingest commits.
    const began = performance.now();
    const published: Array<{ device: string; seq: number }> = [];
    let oldest = 0;
    const waitForAck = () => new Promise<void>((resolve) => (wake = resolve));
    for (const batch of batches) {
      while (oldest < published.length && (acked.get(published[oldest]!.device) ?? 0) >= published[oldest]!.seq) oldest++;
      while (published.length - oldest >= WINDOW) {
        await waitForAck();
        while (oldest < published.length && (acked.get(published[oldest]!.device) ?? 0) >= published[oldest]!.seq) oldest++;
      }
      gateway.publish(topics.telemetry(SITE, batch.device), JSON.stringify(batch), { qos: 1 });
      published.push({ device: batch.device, seq: batch.seq });
    }
    const last = new Map(batches.map((b) => [b.device, b.seq]));
    while ([...last].some(([device, seq]) => (acked.get(device) ?? 0) < seq)) await waitForAck();
    replayMs = performance.now() - began;

    health = ingest.health();
    await gateway.endAsync();
    await ingest.close();
    const reader = openStateReader(dir.path);
    try {
      activations = reader
        .alarms()
        .flatMap((a) => reader.alarmHistory(a.id).filter((t) => t.event === 'activate').map((t) => ({ key: a.key, ts: t.ts })))
        .sort((a, b) => a.ts - b.ts || a.key.localeCompare(b.key));
    } finally {
      reader.close();
    }
    console.log(`replayed ${batches.length} batches (${manifest.samples} samples, a simulated day) in ${(replayMs / 1000).toFixed(1)} s: ${Math.round(manifest.samples / (replayMs / 1000))} samples/s`);
  }, 120_000);

  afterAll(async () => {
    await closeBroker?.();
    dir?.remove();
  });

  it('commits every batch and sample of the day once', () => {
    expect(batches.length).toBe(manifest.batches);
    expect(health).toMatchObject({ batches: manifest.batches, samples: manifest.samples, duplicates: 0, invalid: 0, unknownPoints: 0, skewedSamples: 0, storeFailures: 0 });
  });

  it('raises exactly the expected alarms, each at its sample time, and no others', () => {
    const fmt = (a: Activation) => `${new Date(a.ts).toISOString()} ${a.key}`;
    expect(activations.map(fmt)).toEqual(expected.activations.map(fmt));
  });

  it('replays the day in well under a minute', () => {
    // Logged above; a generous bound so a busy machine does not fail it (speed is for benchmarks).
    expect(replayMs).toBeLessThan(60_000);
  });
});
