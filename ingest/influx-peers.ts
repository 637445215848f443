/**
 * Real time-series servers for tests, from Debian's packages, on loopback with free ports and
 * temporary data dirs (never imported by production code).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, request, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, freePort, tempDir } from '../testing/index.ts';

export interface Peer {
  url: string;
  stop(): Promise<void>;
}

async function startProcess(program: string, args: string[], pingUrl: string, dir: ReturnType<typeof tempDir>): Promise<Peer & { child: ChildProcess }> {
  const child = spawn(program, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr = (stderr + c).slice(-2000)));
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    dir.remove();
  };
  try {
    await eventually(async () => child.exitCode === null && (await fetch(pingUrl)).ok, 20_000, 100);
  } catch (err) {
    await stop();
    throw new Error(`${program} did not start: ${(err as Error).message}\n${stderr}`);
  }
  return { url: new URL(pingUrl).origin, child, stop };
}

/**
 * `victoria-metrics` (it accepts /api/v2/write; read back through /api/v1/export). It keeps a
 * replayed sample twice unless deduplication is on: `-dedup.minScrapeInterval=1ms` makes a replay
 * overwrite itself as on InfluxDB (deployments need the flag too).
 */
export async function startVictoriaMetrics(): Promise<Peer> {
  const dir = tempDir('vigil-vm-');
  const port = await freePort();
  return startProcess('victoria-metrics', [`-httpListenAddr=127.0.0.1:${port}`, `-storageDataPath=${dir.path}`, '-loggerLevel=ERROR', '-dedup.minScrapeInterval=1ms'], `http://127.0.0.1:${port}/health`, dir);
}

/** Debian's `influxd` 1.6 with every listener on loopback, and one database. */
export async function startInfluxDb(database: string): Promise<Peer> {
  const dir = tempDir('vigil-influx-');
  const [rpc, http] = [await freePort(), await freePort()];
  const config = join(dir.path, 'influxdb.conf');
  writeFileSync(
    config,
    `reporting-disabled = true
bind-address = "127.0.0.1:${rpc}"
[meta]
  dir = "${dir.path}/meta"
[data]
  dir = "${dir.path}/data"
  wal-dir = "${dir.path}/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:${http}"
  log-enabled = false
  pprof-enabled = false
[logging]
  level = "error"
`,
  );
  const peer = await startProcess('influxd', ['-config', config], `http://127.0.0.1:${http}/ping`, dir);
  const res = await fetch(`${peer.url}/query?q=${encodeURIComponent(`CREATE DATABASE "${database}"`)}`, { method: 'POST' });
  if (!res.ok) throw new Error(`CREATE DATABASE: ${res.status} ${await res.text()}`);
  return peer;
}

/**
 * What InfluxDB 1.8's compatibility endpoint does, for 1.6: `/api/v2/write?bucket=B&precision=P` →
 * `/write?db=B&precision=P`; everything else passes. `fail` makes it answer writes with that status
 * (and a Retry-After in seconds), to test failures; `writes` counts write requests.
 */
export async function startWriteProxy(target: string): Promise<Peer & { fail: { status: number; retryAfterS?: number } | null; writes: number[] }> {
  const port = await freePort();
  const state: { fail: { status: number; retryAfterS?: number } | null; writes: number[] } = { fail: null, writes: [] };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://proxy');
    let path = url.pathname + url.search;
    if (url.pathname === '/api/v2/write') {
      state.writes.push(Date.now());
      if (state.fail) {
        req.resume();
        res.writeHead(state.fail.status, state.fail.retryAfterS !== undefined ? { 'retry-after': String(state.fail.retryAfterS) } : {});
        res.end('{"error":"failing on purpose"}');
        return;
      }
      const [db, rp] = (url.searchParams.get('bucket') ?? '').split('/');
      path = `/write?db=${encodeURIComponent(db!)}&precision=${url.searchParams.get('precision') ?? 'ns'}${rp ? `&rp=${encodeURIComponent(rp)}` : ''}`;
    }
    const headers = { ...req.headers };
    delete headers.host;
    const upstream = request(new URL(path, target), { method: req.method, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', (err) => {
      res.writeHead(502);
      res.end(err.message);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
