import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import pino from 'pino';
import { connectAsync } from 'mqtt';
import { DEMO_SITE_FILE, loadSiteFile, topics } from '@vigil/model';
import { eventually, freePort, peer, tempDir } from '../testing/index.ts';
import { startIngest } from './ingest.ts';
import { InfluxTimeSeriesStore, InfluxWriteError, INFLUX_MEASUREMENT } from './influx-timeseries.ts';
import { startInfluxDb, startVictoriaMetrics, startWriteProxy, type Peer } from './influx-peers.ts';
import { timeSeriesContract } from './timeseries-contract.ts';

const dirs: Array<ReturnType<typeof tempDir>> = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));
const dataDir = () => {
  const dir = tempDir();
  dirs.push(dir);
  return dir.path;
};

describe.skipIf(!peer('victoria-metrics', 'victoria-metrics').ok)('InfluxTimeSeriesStore → VictoriaMetrics: the write path of the contract', () => {
  let vm: Peer;
  beforeAll(async () => {
    vm = await startVictoriaMetrics();
  });
  afterAll(async () => vm?.stop());

  timeSeriesContract({
    open: async () => InfluxTimeSeriesStore.open(dataDir(), { url: vm.url, bucket: 'vigil' }),
    settle: async () => void (await fetch(`${vm.url}/internal/force_flush`)),
    // Its export API, never its InfluxQL stub. Field `num` of measurement `vigil_sample` is metric `vigil_sample_num`.
    async readBack(point, from, to) {
      const match = `{__name__="${INFLUX_MEASUREMENT}_num",point="${point}"}`;
      const res = await fetch(`${vm.url}/api/v1/export?match[]=${encodeURIComponent(match)}&start=${from / 1000}&end=${to / 1000}`);
      const out: Array<{ ts: number; value: number }> = [];
      for (const line of (await res.text()).split('\n').filter(Boolean)) {
        const { values, timestamps } = JSON.parse(line) as { values: number[]; timestamps: number[] };
        timestamps.forEach((ts, i) => out.push({ ts, value: values[i]! }));
      }
      return out.filter((s) => s.ts >= from && s.ts <= to).sort((a, b) => a.ts - b.ts);
    },
  });
});

describe.skipIf(!peer('influxd', 'influxdb').ok)('InfluxTimeSeriesStore → InfluxDB 1.6 (through a /api/v2/write proxy)', () => {
  let influx: Peer;
  let proxy: Awaited<ReturnType<typeof startWriteProxy>>;
  beforeAll(async () => {
    influx = await startInfluxDb('vigil');
    proxy = await startWriteProxy(influx.url);
  });
  afterAll(async () => {
    await proxy?.stop();
    await influx?.stop();
  });

  describe('the contract: writes through the WriteApi, reads with InfluxQL over /query', () => {
    timeSeriesContract({ open: async () => InfluxTimeSeriesStore.open(dataDir(), { url: proxy.url, bucket: 'vigil' }) });
  });

  it('a failing InfluxDB: retries honouring Retry-After in seconds, then rejects and fails fast; health shows it; recovers', async () => {
    const store = InfluxTimeSeriesStore.open(dataDir(), { url: proxy.url, bucket: 'vigil' }, { write: { attempts: 2, minRetryDelayMs: 10, maxRetryDelayMs: 500 } });
    const sample = { point: 'fail.p', ts: Date.now() - 1000, value: 1, quality: 'good' as const };
    try {
      proxy.fail = { status: 503, retryAfterS: 1 };
      proxy.writes.length = 0;
      await expect(store.write([sample])).rejects.toThrow(InfluxWriteError);
      expect(proxy.writes).toHaveLength(2);
      // 1 s, not the client's reading of "1" as 1 ms.
      expect(proxy.writes[1]! - proxy.writes[0]!).toBeGreaterThanOrEqual(950);
      expect(store.health()).toMatchObject({ status: 'degraded', failedWrites: 1, lastError: expect.stringContaining('failing on purpose') });
      expect(await store.latest('fail.p')).toBeUndefined(); // not stored, so not the latest either

      // Within the backoff: refused at once, without a request.
      await expect(store.write([sample])).rejects.toThrow(/InfluxDB is failing/);
      expect(proxy.writes).toHaveLength(2);

      proxy.fail = null;
      await new Promise((r) => setTimeout(r, 1100));
      await store.write([sample]);
      expect(store.health().status).toBe('up');
      expect(await store.latest('fail.p')).toMatchObject({ value: 1 });
      const h = await store.history('fail.p', sample.ts, sample.ts);
      expect(h.resolution === 'raw' && h.samples.map((s) => s.value)).toEqual([1]);

      // A 4xx will not heal by retrying: one request, rejected.
      proxy.fail = { status: 400 };
      proxy.writes.length = 0;
      await expect(store.write([{ ...sample, ts: sample.ts + 1 }])).rejects.toThrow(InfluxWriteError);
      expect(proxy.writes).toHaveLength(1);
    } finally {
      proxy.fail = null;
      await store.close();
    }
  });

  it('ingest acknowledges a batch only once InfluxDB took it; later batches of the device wait for it', async () => {
    const site = loadSiteFile(DEMO_SITE_FILE);
    const SITE = site.site.id;
    const PRESSURE = 'pump-b1-1.discharge_pressure';
    const port = await freePort();
    const { Aedes } = await import('aedes');
    const broker = await Aedes.createBroker();
    const server = createServer(broker.handle);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    const url = `mqtt://127.0.0.1:${port}`;
    const gateway = await connectAsync(url, { clientId: 'influx-test-gateway', protocolVersion: 4 });
    const acks: Array<Record<string, number>> = [];
    gateway.on('message', (_t, payload) => acks.push(JSON.parse(payload.toString())));
    await gateway.subscribeAsync(topics.acks(SITE, 'gw-1'), { qos: 1 });
    const t0 = Date.now() - 60_000;
    const send = (seq: number) =>
      gateway.publishAsync(
        topics.telemetry(SITE, 'booster-1'),
        JSON.stringify({ gateway: 'gw-1', device: 'booster-1', seq, samples: [{ point: PRESSURE, ts: t0 + seq * 1000, value: 0.7, quality: 'good' }] }),
        { qos: 1 },
      );
    proxy.fail = { status: 503 };
    const ingest = await startIngest({ site, bus: { url }, dataDir: dataDir(), log: pino({ level: 'silent' }), influx: { url: proxy.url, bucket: 'vigil' } });
    try {
      await send(1);
      await eventually(() => ingest.health().storeFailures === 1, 15_000);
      expect(ingest.health()).toMatchObject({ status: 'degraded', store: { status: 'degraded', failedWrites: 1 } });
      proxy.fail = null;
      await send(2); // InfluxDB is back, but seq 1 is missing: an ack of 2 would lose it
      await eventually(() => ingest.health().deferred === 1, 15_000);
      expect(acks).toEqual([]);

      // The gateway resends from its oldest unacknowledged batch, in order, until acknowledged
      // (the first resends may still meet the store's backoff).
      await eventually(async () => {
        await send(1);
        await send(2);
        await new Promise((r) => setTimeout(r, 300));
        return acks.at(-1)?.['booster-1'] === 2;
      }, 15_000);
      expect(ingest.health()).toMatchObject({ status: 'up', batches: 2 });
      const rows = await fetch(`${influx.url}/query?db=vigil&epoch=ms&q=${encodeURIComponent(`SELECT count("num") FROM ${INFLUX_MEASUREMENT} WHERE "point" = '${PRESSURE}'`)}`);
      expect(JSON.stringify(await rows.json())).toContain(',2]');
    } finally {
      proxy.fail = null;
      await ingest.close();
      await gateway.endAsync();
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
