/**
 * Store-and-forward end to end (DESIGN.md, "Delivery"; issue 4, "What it must show"): about 2,000
 * samples/s from Modbus devices through the gateway (a child process), a real Mosquitto without
 * persistence as the bus, and real ingest. Mosquitto is stopped for 20 s and started again; then the
 * gateway is killed with SIGKILL mid-stream and restarted. Every sample the devices served must be
 * committed by ingest exactly once, in order per device.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import modbusSerial from 'modbus-serial';
import { pino } from 'pino';
import { parseSite } from '@vigil/model';
import { openStateReader, startIngest, type RunningIngest } from '@vigil/ingest';
import { eventually, freePort, peer, tempDir } from '../testing/index.ts';
import { forkGateway, type GatewayProcess } from './test-peers.ts';

const mosquitto = peer('mosquitto', 'mosquitto');
const mosquittoPasswd = peer('mosquitto_passwd', 'mosquitto');

const DEVICES = 4;
const REGISTERS = 125; // one read per poll
const POLL_MS = 250; // 4 × 125 / 0.25 s = 2,000 samples/s
const OUTAGE_MS = 20_000;
const GATEWAY = 'gw-outage';
const USER = { username: 'vigil', password: 'outage-password-0123' };

/** What register `r` holds the `k`-th time its device is read: differs every read, and gives `k` back. */
const valueOf = (k: number, r: number) => k * 7 + r;
const readOf = (value: number, r: number) => (value - r) / 7;

const siteYaml = () =>
  [
    'site: { id: outage, name: Outage test, timezone: UTC }',
    'buildings: [{ id: b, name: B, floors: [{ id: f, name: F, level: 0 }] }]',
    'assets:',
    ...Array.from({ length: DEVICES }, (_, d) => `  - { id: asset-${d}, name: Asset ${d}, class: pump, building: b, floor: f, department: technical }`),
    'devices:',
    ...ports.flatMap((port, d) => [
      `  - id: dev-${d}`,
      '    protocol: modbus-tcp',
      '    host: 127.0.0.1',
      `    port: ${port}`,
      '    unit: 1',
      `    pollIntervalMs: ${POLL_MS}`,
      '    timeoutMs: 2000',
      '    points:',
      ...Array.from({ length: REGISTERS }, (_, r) => `      - { id: asset-${d}.r${r}, modbus: { table: holding, address: ${r} }, deadband: 0 }`),
    ]),
    'roster:',
    '  people: [{ username: tech, name: Tech, department: technical, skills: [pump] }]',
    '',
  ].join('\n');

let ports: number[] = [];

/** A device that records every read it serves: the count of reads is `k`, with the wall time. */
interface SourceDevice {
  served: Array<{ k: number; at: number }>;
  close(): Promise<void>;
}

async function startSource(port: number): Promise<SourceDevice> {
  const served: SourceDevice['served'] = [];
  const vector = {
    getMultipleHoldingRegisters(address: number, length: number, _unit: number, cb: (err: unknown, values?: number[]) => void) {
      const k = served.length + 1;
      served.push({ k, at: Date.now() });
      cb(null, Array.from({ length }, (_, i) => valueOf(k, address + i)));
    },
  };
  const server = new modbusSerial.ServerTCP(vector as never, { host: '127.0.0.1', port, unitID: 255 });
  server.on('socketError', () => undefined);
  server.on('serverError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('initialized', () => resolve());
    server.once('serverError', reject);
  });
  return { served, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Mosquitto on a fixed port that the test stops and starts again: no persistence, a password. */
class Mosquitto {
  private process: ChildProcess | null = null;
  constructor(
    private readonly conf: string,
    readonly port: number,
  ) {}

  async start(): Promise<void> {
    const child = spawn(mosquitto.path, ['-c', this.conf], { stdio: 'ignore' });
    this.process = child;
    await eventually(
      () =>
        new Promise<boolean>((resolve) => {
          const socket = net.connect(this.port, '127.0.0.1');
          socket.once('connect', () => (socket.destroy(), resolve(true)));
          socket.once('error', () => resolve(false));
        }),
      10_000,
      100,
    );
  }

  async stop(): Promise<void> {
    const child = this.process;
    this.process = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

describe.skipIf(!mosquitto.ok || !mosquittoPasswd.ok)('store-and-forward through a Mosquitto outage and a kill -9 of the gateway', () => {
  const dir = tempDir('vigil-outage-');
  const log = pino({ level: 'silent' });
  let broker: Mosquitto;
  let sources: SourceDevice[] = [];
  let ingest: RunningIngest | null = null;
  let gateway: GatewayProcess | null = null;

  beforeAll(async () => {
    ports = await Promise.all(Array.from({ length: DEVICES }, () => freePort()));
    sources = await Promise.all(ports.map((p) => startSource(p)));
    const passwd = join(dir.path, 'passwd');
    execFileSync(mosquittoPasswd.path, ['-c', '-b', passwd, USER.username, USER.password]);
    const conf = join(dir.path, 'mosquitto.conf');
    const port = await freePort();
    // Started as root, Mosquitto drops to user 'mosquitto', who cannot read our private temp dir.
    writeFileSync(conf, [`user ${userInfo().username}`, `listener ${port} 127.0.0.1`, 'allow_anonymous false', `password_file ${passwd}`, 'persistence false', ''].join('\n'));
    broker = new Mosquitto(conf, port);
    await broker.start();
  }, 30_000);

  afterAll(async () => {
    await gateway?.close().catch(() => gateway?.kill());
    await ingest?.close();
    await broker?.stop();
    await Promise.all(sources.map((s) => s.close()));
    dir.remove();
  });

  it('commits every sample served exactly once, in order per device', async () => {
    const site = siteYaml();
    const bus = { url: `mqtt://127.0.0.1:${broker.port}`, ...USER };
    const dataDir = join(dir.path, 'data');
    ingest = await startIngest({ site: parseSite(site, 'outage-site.yaml'), bus, dataDir: join(dir.path, 'ingest'), log });
    const startGateway = () => forkGateway({ siteYaml: site, gatewayId: GATEWAY, bus, dataDir, options: { resendAfterMs: 3000, reconnect: { firstMs: 200, maxMs: 1000 } } });
    const servedNow = () => sources.reduce((n, s) => n + s.served.length, 0) * REGISTERS;
    gateway = await startGateway();

    // Live: measure the rate the devices are read at.
    await eventually(() => ingest!.health().samples > 0, 15_000);
    const live0 = { served: servedNow(), at: Date.now() };
    await sleep(4000);
    const liveRate = ((servedNow() - live0.served) * 1000) / (Date.now() - live0.at);

    // The broker goes away for 20 s; polling goes on into the outbox.
    await broker.stop();
    await sleep(OUTAGE_MS);
    const restartedAt = Date.now();
    const backlog = (await gateway.stats()).stats!.outbox;
    expect(backlog.samples).toBeGreaterThan(liveRate * OUTAGE_MS * 0.0008); // most of 20 s worth waits on disk
    gateway.watch();
    await broker.start();
    // Drained: the outbox is down to a poll or two. The rate is measured in the gateway's process,
    // from its first acknowledgement after the restart (both sides reconnect first) until then.
    await eventually(async () => (await gateway!.stats()).stats!.outbox.samples <= 2 * REGISTERS * DEVICES, 30_000, 200);
    const timeline = await gateway.timeline();
    const firstAck = Math.max(0, timeline.findIndex(([, acked]) => acked > timeline[0]![1]));
    // The timeline is sampled: when the drain ended between two samples, its last entry stands for it.
    const drained = timeline.findIndex(([, , waiting], i) => i > firstAck && waiting <= 2 * REGISTERS * DEVICES);
    const done = drained >= 0 ? drained : timeline.length - 1;
    const [startAt, startAcked] = timeline[Math.max(0, firstAck - 1)]!;
    const [doneAt, doneAcked] = timeline[done]!;
    const drainRate = ((doneAcked - startAcked) * 1000) / (doneAt - startAt);
    const drainSummary = `first ack ${timeline[firstAck]![0] - restartedAt} ms after the broker restart, then drained ${doneAcked - startAcked} samples in ${doneAt - startAt} ms = ${Math.round(drainRate)} samples/s (${(drainRate / liveRate).toFixed(1)}× live)`;

    // kill -9 mid-stream, then a new gateway on the same data directory.
    await sleep(2000);
    await gateway.kill();
    // The killed gateway's last reads: a request it sent just before the kill may be served only
    // after the test saw it die (the device's socket still held it), so judge by the restart.
    const restarting = Date.now();
    const lastOfKilled = sources.map((s) => s.served.filter((x) => x.at <= restarting).slice(-2).map((x) => x.k));
    gateway = await startGateway();
    await sleep(4000);

    // Everything served up to now must arrive; later reads are not judged.
    const until = sources.map((s) => s.served.length);
    await eventually(
      () => {
        const reader = openStateReader(join(dir.path, 'ingest'));
        try {
          return ports.every((_, d) => {
            const last = reader.latest(`asset-${d}.r0`);
            return last !== undefined && readOf(last.value as number, 0) >= until[d]!;
          });
        } finally {
          reader.close();
        }
      },
      30_000,
      200,
    );
    await gateway.close();
    gateway = null;
    await ingest.close();
    const health = ingest.health();
    ingest = null;

    const reader = openStateReader(join(dir.path, 'ingest'));
    let stored = 0;
    const lostAtKill: string[] = [];
    try {
      for (let d = 0; d < DEVICES; d++) {
        // The reads of this device that reached ingest, per register, in time order.
        const perRegister: number[][] = [];
        for (let r = 0; r < REGISTERS; r++) {
          const history = await reader.history(`asset-${d}.r${r}`, 0, Number.MAX_SAFE_INTEGER, { limit: 10_000 });
          if (history.resolution !== 'raw') throw new Error('expected raw samples');
          stored += history.samples.length;
          expect(history.samples.filter((s) => s.quality !== 'good')).toEqual([]);
          perRegister.push(history.samples.map((s) => readOf(s.value as number, r)));
        }
        // A poll is one batch: every register of a device holds the same reads.
        for (const reads of perRegister) expect(reads).toEqual(perRegister[0]);
        const reads = perRegister[0]!.filter((k) => k <= until[d]!);
        // Every read served, once each, in order — except the killed gateway's last reads: one whose
        // reply was on its way to it, and one not yet on its disk when it was killed.
        const expected = Array.from({ length: until[d]! }, (_, i) => i + 1);
        const missing = expected.filter((k) => !reads.includes(k));
        expect({ device: d, missing: missing.filter((k) => !lastOfKilled[d]!.includes(k)) }).toEqual({ device: d, missing: [] });
        if (missing.length > 0) lostAtKill.push(`dev-${d} read ${missing[0]}`);
        expect(reads).toEqual(expected.filter((k) => !missing.includes(k)));
      }
    } finally {
      reader.close();
    }
    // Exactly once: ingest counted as many committed samples as are stored (the store is keyed by
    // point and time, so a batch committed twice would show here, not in the history).
    expect(health.samples).toBe(stored);
    expect(health.invalid).toBe(0);

    console.info(
      [
        `outage test: live ${Math.round(liveRate)} samples/s; backlog after ${OUTAGE_MS / 1000} s outage ${backlog.samples} samples (${backlog.bytes} bytes on disk);`,
        `${drainSummary};`,
        `duplicates dropped by ingest ${health.duplicates}; lost at the kill -9: ${lostAtKill.join(', ') || 'none'}; committed ${health.samples} samples in ${health.batches} batches`,
      ].join(' '),
    );
  }, 150_000);
});
