/**
 * `vigil bench` (= `npm run bench`): speed goals measured, printed as a table and written as JSON
 * (DESIGN.md, "Command line"). Each figure is measured over `seconds` (default 30) after a warm-up.
 */
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { startIngest } from '@vigil/ingest';
import { freePort, tempDir } from '../testing/index.ts';
import { startEmbeddedBroker } from './broker.ts';
import { benchSite } from './bench-site.ts';
import type { LoadCommand, LoadResult } from './bench-load.ts';

export interface BenchOptions {
  seconds: number;
  json?: string;
  only?: string[];
  progress: (line: string) => void;
}

type Row = { section: string; figure: string; value: string; goal: string };

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs the load generator in a child process and returns what it measured. */
function load(cmd: LoadCommand): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL('./bench-load.ts', import.meta.url)), { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
    child.once('message', (m) => resolve(m as LoadResult));
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`load generator exited with ${code}`))));
    child.send(cmd);
  });
}

/** CPU (percent of one core) and peak RSS of this process while `during` runs. */
async function measureSelf<T>(during: () => Promise<T>): Promise<{ result: T; cpuPercent: number; rssMB: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let rss = process.memoryUsage().rss;
  const sampler = setInterval(() => (rss = Math.max(rss, process.memoryUsage().rss)), 500);
  try {
    const result = await during();
    const cpu = process.cpuUsage(cpu0);
    const elapsedMs = performance.now() - t0;
    return { result, cpuPercent: ((cpu.user + cpu.system) / 1000 / elapsedMs) * 100, rssMB: rss / 2 ** 20 };
  } finally {
    clearInterval(sampler);
  }
}

async function benchIngest(opts: BenchOptions, rows: Row[]) {
  const log = pino({ level: 'warn' }, pino.destination(2));
  const measureMs = opts.seconds * 1000;
  const warmupMs = Math.min(10_000, Math.max(3000, measureMs / 6));
  const shape = { devices: 100, points: 100 };
  const detectors = 200;
  const site = benchSite({ devices: shape.devices, pointsPerDevice: shape.points, detectors });
  const out: Record<string, unknown> = {};

  for (const phase of ['throughput', 'latency'] as const) {
    const dir = tempDir('vigil-bench-');
    const user = { username: 'bench', password: 'bench-password' };
    const broker = await startEmbeddedBroker({ host: '127.0.0.1', port: await freePort(), site: 'bench', secret: 'bench-secret-0123456789', integrationUser: user, log });
    const ingest = await startIngest({ site, bus: broker.credentials('ingest'), dataDir: dir.path, log });
    const bus = { url: broker.url, ...user };
    try {
      if (phase === 'throughput') {
        opts.progress(`ingest: sustained throughput, ${shape.devices} devices × ${shape.points} points, warm-up ${warmupMs / 1000} s + ${opts.seconds} s …`);
        const m = await measureSelf(() => load({ kind: 'throughput', bus, site: 'bench', ...shape, batchSize: 500, window: 4, warmupMs, measureMs }));
        const r = m.result as Extract<LoadResult, { kind: 'throughput' }>;
        out.samplesPerSec = Math.round(r.samplesPerSec);
        out.cpuPercent = Math.round(m.cpuPercent);
        out.rssMB = Math.round(m.rssMB);
        rows.push({ section: 'ingest', figure: 'samples/s sustained (validate → store → detectors, acked)', value: String(out.samplesPerSec), goal: '≥ 100,000' });
        rows.push({ section: 'ingest', figure: 'CPU % of one core (ingest + embedded broker)', value: String(out.cpuPercent), goal: '' });
        rows.push({ section: 'ingest', figure: 'RSS MB (ingest + embedded broker)', value: String(out.rssMB), goal: '' });
      } else {
        const rate = 50_000;
        opts.progress(`ingest: alarm latency while ${rate.toLocaleString('en')} samples/s flow, warm-up ${warmupMs / 1000} s + ${opts.seconds} s …`);
        const r = (await load({ kind: 'latency', bus, site: 'bench', ...shape, batchSize: 500, rate, detectors, warmupMs, measureMs })) as Extract<LoadResult, { kind: 'latency' }>;
        const sorted = [...r.latenciesMs].sort((a, b) => a - b);
        out.alarmLatencyMs = { p50: round1(percentile(sorted, 50)), p99: round1(percentile(sorted, 99)), alarms: sorted.length, samplesPerSec: Math.round(r.samplesPerSec) };
        const l = out.alarmLatencyMs as { p50: number; p99: number };
        rows.push({ section: 'ingest', figure: `alarm latency p50 ms (arrival → alarm published, at ${Math.round(r.samplesPerSec).toLocaleString('en')} samples/s, ${sorted.length} alarms)`, value: String(l.p50), goal: '' });
        rows.push({ section: 'ingest', figure: 'alarm latency p99 ms', value: String(l.p99), goal: '< 200' });
      }
    } finally {
      await ingest.close();
      await broker.close();
      dir.remove();
    }
  }
  return out;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

export async function runBench(opts: BenchOptions): Promise<Record<string, unknown>> {
  const rows: Row[] = [];
  const results: Record<string, unknown> = { machine: { cpus: (await import('node:os')).cpus().length, node: process.version }, seconds: opts.seconds };
  const wanted = (section: string) => !opts.only || opts.only.includes(section);
  // Ingest first: its figures are this process's, and the gateway section's device servers would
  // otherwise leave their memory in it (the gateway's own figures come from its child process).
  if (wanted('ingest')) results.ingest = await benchIngest(opts, rows);
  if (wanted('gateway')) {
    const { benchGateway } = await import('./bench-gateway.ts');
    const g = await benchGateway({ seconds: opts.seconds, progress: opts.progress });
    results.gateway = g;
    rows.push({ section: 'gateway', figure: `points/s, ${g.devices} devices × ${g.points / g.devices} registers, 1 s cycle (poll → outbox → publish)`, value: String(Math.round(g.pointsPerSec)), goal: `${g.points.toLocaleString('en')}` });
    rows.push({ section: 'gateway', figure: 'gateway CPU % of one core', value: String(Math.round(g.cpuPercent)), goal: '< 33' });
    rows.push({ section: 'gateway', figure: 'gateway RSS MB (peak)', value: String(Math.round(g.rssMB)), goal: '< 350' });
    rows.push({ section: 'gateway', figure: `gateway start-up s, ${g.points.toLocaleString('en')} points (site file → every device delivering)`, value: String(g.startupS), goal: '' });
    rows.push({
      section: 'gateway',
      figure: `points/s, 1 device × ${g.bigDevice.points.toLocaleString('en')} registers, ${g.bigDevice.requestsInFlight} requests in flight`,
      value: String(Math.round(g.bigDevice.pointsPerSec)),
      goal: `${g.bigDevice.points.toLocaleString('en')}`,
    });
  }

  const widths = [7, Math.max(...rows.map((r) => r.figure.length), 6), 10, 10];
  const line = (cells: string[]) => cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  process.stdout.write([line(['section', 'figure', 'measured', 'goal']), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line([r.section, r.figure, r.value, r.goal]))].join('\n') + '\n');
  if (opts.json) writeFileSync(opts.json, JSON.stringify(results, null, 2) + '\n');
  return results;
}
