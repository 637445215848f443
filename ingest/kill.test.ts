/**
 * `kill -9` of ingest mid-stream loses nothing (issue 5, "What it must show"; DESIGN.md, "Delivery").
 * A real gateway (in this process) polls real Modbus simulators every 200 ms with deadband 0 and
 * publishes to a broker that outlives ingest; ingest runs in a child process, is killed with SIGKILL
 * twice while batches are in flight, and restarted on the same data directory. The gateway keeps
 * every batch until ingest acknowledges it and re-sends the rest. Every batch the gateway published
 * is recorded off the bus (device, seq, samples); at the end ingest's SQLite must hold each of
 * their samples exactly once, and its committed seq per device must be the gateway's last, with no
 * seq skipped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRequire } from 'node:module';
import pino from 'pino';
import { connectAsync, type MqttClient } from 'mqtt';
import { DEMO_SITE_FILE, loadSiteFile, topics, type Sample, type Site, type TelemetryBatch } from '@vigil/model';
import { startGateway, type RunningGateway } from '@vigil/gateway';
import { startSimulators, type RunningSimulators } from '@vigil/simulators';
import { eventually, tempDir, useFreePorts } from '../testing/index.ts';
import { startTestBroker } from '../testing/broker.ts';
import type { Database as SqliteDatabase } from './sqlite.ts';

const Database = createRequire(import.meta.url)('better-sqlite3') as new (file: string, opts?: { readonly?: boolean }) => SqliteDatabase;

const RUN_INGEST = fileURLToPath(new URL('./testdata/run-ingest.ts', import.meta.url));
const GW = 'gw-1';
/** Three booster drives (noisy pressures, currents) and a lift: every 200 ms poll has news at deadband 0. */
const DEVICES = ['booster-1', 'booster-2', 'booster-3', 'lift-1-ctl'];

describe('kill -9 of ingest mid-stream', () => {
  const log = pino({ level: 'silent' });
  const site = loadSiteFile(DEMO_SITE_FILE);
  const SITE = site.site.id;
  let closeBroker: () => Promise<void>;
  let url: string;
  const dir = tempDir('vigil-kill-');
  const dataDir = join(dir.path, 'ingest');
  let sims: RunningSimulators;
  let gateway: RunningGateway;
  let ingest: ChildProcess | null = null;
  let observer: MqttClient;
  /** Every batch seen on the bus, by `device:seq`; a re-send must be the same batch. */
  const published = new Map<string, TelemetryBatch>();
  let resendsDiffering = 0;
  const acked = new Map<string, number>();
  const kills: Array<{ committed: Record<string, number>; unacknowledged: number }> = [];

  const startIngest = async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', RUN_INGEST], {
      env: { ...process.env, VIGIL_SITE: DEMO_SITE_FILE, VIGIL_DATA_DIR: dataDir, VIGIL_MQTT_URL: url },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await eventually(() => out.includes('ready') || child.exitCode !== null, 20_000);
    if (!out.includes('ready')) throw new Error(`ingest exited with ${child.exitCode} before it was ready`);
    ingest = child;
  };
  const committed = () => Object.fromEntries(DEVICES.map((d) => [d, acked.get(d) ?? 0]));
  const progressed = (beyond: Record<string, number>, by: number) => eventually(() => DEVICES.every((d) => (acked.get(d) ?? 0) >= (beyond[d] ?? 0) + by), 20_000);
  const kill9 = async () => {
    const child = ingest!;
    // Mid-stream: at a moment when the gateway has batches ingest has not acknowledged.
    await eventually(() => gateway.stats().outbox.batches > 0, 10_000, 1);
    kills.push({ committed: committed(), unacknowledged: gateway.stats().outbox.batches });
    child.kill('SIGKILL');
    const [, signal] = (await once(child, 'exit')) as [number | null, string | null];
    expect(signal).toBe('SIGKILL');
    ingest = null;
  };

  beforeAll(async () => {
    const broker = await startTestBroker();
    closeBroker = () => broker.stop();
    url = broker.url;

    // The polled part of the demo tower, on free ports, polled every 200 ms with deadband 0.
    const polled: Site = structuredClone(site);
    polled.devices = polled.devices.filter((d) => DEVICES.includes(d.id));
    await useFreePorts(polled);
    for (const d of polled.devices) {
      d.pollIntervalMs = 200;
      for (const p of d.points) p.deadband = 0;
    }
    sims = await startSimulators({ site: polled, log, devices: DEVICES, seed: 7 });

    observer = await connectAsync(url, { clientId: 'kill-observer', protocolVersion: 4 });
    observer.on('message', (topic, payload) => {
      const body = JSON.parse(payload.toString()) as TelemetryBatch | Record<string, number>;
      if (topic === topics.acks(SITE, GW)) {
        for (const [d, seq] of Object.entries(body as Record<string, number>)) acked.set(d, Math.max(acked.get(d) ?? 0, seq));
        return;
      }
      const batch = body as TelemetryBatch;
      const key = `${batch.device}:${batch.seq}`;
      const seen = published.get(key);
      if (seen && JSON.stringify(seen) !== JSON.stringify(batch)) resendsDiffering++;
      published.set(key, seen ?? batch);
    });
    await observer.subscribeAsync([topics.all.telemetry(SITE), topics.acks(SITE, GW)], { qos: 1 });

    await startIngest();
    gateway = await startGateway({ site: polled, gatewayId: GW, bus: { url }, dataDir: join(dir.path, 'gateway'), log, resendAfterMs: 1000 });
  }, 60_000);

  afterAll(async () => {
    ingest?.kill('SIGKILL');
    await gateway?.close();
    await sims?.close();
    await observer?.endAsync();
    await closeBroker?.();
    dir.remove();
  });

  it('commits every sample the gateway read exactly once across two kill -9s, with no seq skipped', async () => {
    // Streaming: some batches committed on every device.
    await progressed({}, 20);
    await kill9();
    // The gateway polls on while ingest is gone: a backlog builds in its outbox.
    await sleep(1500);
    await startIngest();
    await progressed(kills[0]!.committed, 15);
    // Again, this time while the backlog is being drained.
    await kill9();
    await sleep(500);
    await startIngest();
    await progressed(kills[1]!.committed, 15);

    // Stop the source, let the gateway's outbox drain to ingest, then stop both.
    await sims.close();
    await eventually(() => gateway.stats().outbox.batches === 0, 20_000);
    await sleep(500);
    await eventually(() => gateway.stats().outbox.batches === 0, 20_000);
    const stats = gateway.stats();
    await gateway.close();
    const child = ingest!;
    child.kill('SIGTERM');
    await once(child, 'exit');
    ingest = null;

    // What the gateway published, by device: seqs 1..N with none missing.
    const byDevice = new Map<string, number[]>();
    for (const b of published.values()) byDevice.set(b.device, [...(byDevice.get(b.device) ?? []), b.seq]);
    const lastSeq: Record<string, number> = {};
    for (const d of DEVICES) {
      const seqs = (byDevice.get(d) ?? []).sort((a, b) => a - b);
      expect(seqs.length, d).toBeGreaterThan(40);
      expect(seqs, `${d}: every seq from 1 to the last, none skipped`).toEqual(seqs.map((_, i) => i + 1));
      lastSeq[d] = seqs.at(-1)!;
    }
    expect(resendsDiffering, 'a re-sent batch is the batch first sent').toBe(0);
    const sent: Sample[] = [...published.values()].flatMap((b) => b.samples);
    const sentKeys = new Set(sent.map((s) => `${s.point}@${s.ts}`));
    expect(sentKeys.size, 'the source never stamps one point twice at one ts').toBe(sent.length);

    const series = new Database(join(dataDir, 'timeseries.sqlite'), { readonly: true });
    const state = new Database(join(dataDir, 'state.sqlite'), { readonly: true });
    try {
      const rows = series.prepare('SELECT point, ts, value, kind, quality FROM samples').all() as Array<{ point: string; ts: number; value: number | string | null; kind: string; quality: string }>;
      const stored = new Map(rows.map((r) => [`${r.point}@${r.ts}`, r]));
      // Exactly once: the table is keyed by (point, ts), so equal counts and every key present means each sample once and nothing else.
      expect(rows.length).toBe(sent.length);
      const missing = sent.filter((s) => !stored.has(`${s.point}@${s.ts}`));
      expect(missing.slice(0, 5), `${missing.length} samples the gateway published are not in ingest's store`).toEqual([]);
      const wrong = sent.filter((s) => {
        const r = stored.get(`${s.point}@${s.ts}`)!;
        const v = r.kind === 'boolean' ? r.value === 1 : r.value;
        return v !== s.value || r.quality !== s.quality;
      });
      expect(wrong.slice(0, 5), 'stored values equal the published ones').toEqual([]);

      const delivery = Object.fromEntries((state.prepare('SELECT device, seq FROM delivery WHERE gateway = ?').all(GW) as Array<{ device: string; seq: number }>).map((r) => [r.device, r.seq]));
      expect(delivery).toEqual(lastSeq);
    } finally {
      series.close();
      state.close();
    }

    // The kills landed mid-stream, and the gateway re-sent what ingest had not acknowledged.
    for (const k of kills) expect(k.unacknowledged, 'batches in flight or waiting when ingest was killed').toBeGreaterThan(0);
    expect(stats.batchesResent).toBeGreaterThan(0);
    expect(stats.outbox.dropped).toBe(0);
    console.log(
      `kill -9 twice: ${published.size} batches, ${sent.length} samples published and each committed once; ` +
        `${stats.batchesPublished} publishes (${stats.batchesResent} re-sends); unacknowledged at the kills: ${kills.map((k) => k.unacknowledged).join(', ')}; last seqs ${JSON.stringify(lastSeq)}`,
    );
  }, 90_000);
});
